/**
 * The admin API client: every request carries the bearer token the CLI uses, kept in this tab's
 * sessionStorage. A 401 anywhere sends the operator back to the sign-in form.
 */
import { noteSkew } from './format.js';

const TOKEN_KEY = 'metalboot.token';
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let unauthorized: () => void = () => {};

export function currentToken(): string {
  return token;
}
/** Use `candidate` for the next requests (kept in memory only, until `keepToken`). */
export function useToken(candidate: string): void {
  token = candidate;
}
export function keepToken(): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function forgetToken(): void {
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
}
/** What to do when the server refuses the token (set once by app.ts). */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}
export function notifyUnauthorized(): void {
  unauthorized();
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** The status of a failed request (undefined: it never got an answer). */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiError ? err.status : undefined;
}
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** All data comes from the admin API with the same bearer token the CLI uses. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  noteSkew(res);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status === 401) {
    unauthorized();
    throw new ApiError(401, 'the API token was refused', json);
  }
  if (!res.ok) {
    const message = json && typeof json === 'object' ? (json as { message?: unknown }).message : undefined;
    throw new ApiError(
      res.status,
      typeof message === 'string' && message ? message : `${res.status} ${res.statusText}`,
      json,
    );
  }
  return json as T;
}
