import { ValidationError } from '../core/errors.js';

/**
 * Cursor pagination, the one way every list endpoint pages: `?limit=` (default 100, at most
 * 1,000) and `?cursor=` (the `next` of the page before). Pages are keyset pages — the cursor holds
 * the sort key of the last item, and the next page starts after it on an indexed column — so a
 * page costs the same on page 400 as on page 1, and rows inserted meanwhile neither repeat nor
 * shift items. The cursor is opaque to clients (base64url of the list's name and the key).
 */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** Querystring properties of a paged list (the app's Ajv does not coerce: digits as strings). */
export const pageQueryProperties = {
  limit: {
    type: 'string',
    pattern: '^[0-9]{1,9}$',
    description: `Items per page: 1 to ${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT})`,
  },
  cursor: { type: 'string', maxLength: 600, description: 'The `next` of the previous page; absent for the first page' },
} as const;

/** `{ items, next }`: the response of every list endpoint. */
export function pageSchema(item: object, description: string) {
  return {
    type: 'object',
    description: `${description}. One page: follow \`next\` (pass it as \`cursor\`) until it is null`,
    properties: {
      items: { type: 'array', items: item },
      next: { type: ['string', 'null'], description: 'Cursor of the next page; null on the last page' },
    },
  } as const;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export function pageLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PAGE_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_LIMIT)
    throw new ValidationError(`limit must be 1 to ${MAX_PAGE_LIMIT}, got "${value.slice(0, 12)}"`, 'limit');
  return n;
}

export function encodeCursor(list: string, key: string | number): string {
  return Buffer.from(JSON.stringify([list, key])).toString('base64url');
}

/** The key in a cursor of `list`; a cursor that is not one this list gave out is a 400. */
export function decodeCursor(list: string, cursor: string | undefined, type: 'string'): string | undefined;
export function decodeCursor(list: string, cursor: string | undefined, type: 'number'): number | undefined;
export function decodeCursor(
  list: string,
  cursor: string | undefined,
  type: 'string' | 'number',
): string | number | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = /^[A-Za-z0-9_-]+$/.test(cursor)
      ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      : undefined;
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    parsed[0] === list &&
    (type === 'string'
      ? typeof parsed[1] === 'string' && parsed[1].length <= 256
      : Number.isSafeInteger(parsed[1]) && (parsed[1] as number) >= 0);
  if (!ok)
    throw new ValidationError(
      `cursor is not one this list gave out: pass the "next" of the ${list} page before, or leave it out for the first page`,
      'cursor',
    );
  return (parsed as [string, string | number])[1];
}

/** A page from `limit + 1` rows: the extra row only says there is a next page. */
export function pageOf<T>(rows: T[], limit: number, list: string, keyOf: (item: T) => string | number): Page<T> {
  const items = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor(list, keyOf(items[items.length - 1]!)) : null;
  return { items, next };
}
