/**
 * Reading the API's paged lists (`{ items, next }`, see src/http/pagination.ts) from the CLI and
 * doctor. A server from before pagination answers a plain array: that is one, last page.
 */
export interface PageBody<T> {
  items: T[];
  next: string | null;
}

export function pageOfBody<T>(body: T[] | PageBody<T>): PageBody<T> {
  return Array.isArray(body) ? { items: body, next: null } : body;
}

/** The largest page the server gives: fewest round trips when reading everything. */
export const PAGE_MAX = 1000;

/** Every item of a list (at most `max`), following `next` page by page. */
export async function listAll<T>(
  get: (path: string) => Promise<unknown>,
  path: string,
  max = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const items: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  let cursor: string | null = null;
  do {
    const limit = Math.min(PAGE_MAX, max - items.length);
    const page: PageBody<T> = pageOfBody(
      (await get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)) as
        | T[]
        | PageBody<T>,
    );
    items.push(...page.items.slice(0, max - items.length));
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}
