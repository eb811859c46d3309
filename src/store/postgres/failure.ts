/**
 * Which failures mean "the database is not there right now" (stopped, restarting, the connection
 * cut) rather than "this statement is wrong": those become the core's UnavailableError, so HTTP
 * answers 503 with Retry-After and DHCP stays silent, and the next call, on a new connection,
 * succeeds once the server is back. Everything else (a unique violation, a bad statement, a wrong
 * password) keeps its own meaning.
 */
import { UnavailableError } from '../../core/errors.js';

/** Socket errors of a server that is down, restarting or unreachable. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a server going away or not taking connections: admin_shutdown (57P01, a fast stop
 * or pg_terminate_backend), crash_shutdown (57P02), cannot_connect_now (57P03, starting or
 * recovering), too_many_connections (53300); class 08 (connection exception) is matched below.
 */
const SQL_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** pg's own words for a connection that ended or never opened (these errors carry no code). */
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

export function isConnectionFailure(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (NET_CODES.has(code) || SQL_STATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  if (typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return true;
  // A host name with several addresses fails with an AggregateError of one error per address.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionFailure)) return true;
  return e.cause !== undefined && e.cause !== err && isConnectionFailure(e.cause);
}

/**
 * A connection that was open and is no more (the server ended it: a restart, pg_terminate_backend)
 * as opposed to one that could not be opened: a statement that failed this way may be asked again
 * on a new connection when it only reads.
 */
export function isDroppedConnection(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === '57P01' || e.code === '57P02') return true;
  return (
    typeof e.message === 'string' &&
    /^(Connection terminated unexpectedly|Client has encountered a connection error|Client was closed and is not queryable)/.test(
      e.message,
    )
  );
}

/** Why, in a few words: pg's message, or the socket error's code when the message is empty. */
export function failureReason(err: unknown): string {
  // The socket's or server's own words, not the UnavailableError wrapped around them.
  const cause = (err as { cause?: unknown }).cause;
  if (err instanceof UnavailableError && cause !== undefined) return failureReason(cause);
  const e = err as { message?: string; code?: string; errors?: { message: string }[] };
  const msg = e.message || e.errors?.map((x) => x.message).join('; ') || String(err);
  return e.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

/** `err` as the core's UnavailableError when it is a connection failure; else unchanged. */
export function classifyFailure(err: unknown): unknown {
  if (err instanceof UnavailableError || !isConnectionFailure(err)) return err;
  const unavailable = new UnavailableError(`the database (PostgreSQL) is unavailable: ${failureReason(err)}`);
  (unavailable as { cause?: unknown }).cause = err;
  return unavailable;
}
