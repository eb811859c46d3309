/**
 * The admin API client every command but `serve` and `assets` uses. Its job beyond fetch: turn
 * each failure into an error that says what to do, with an exit code a script can branch on.
 */
import { type Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT, UnreachableError } from './errors.js';
import type { OutputFormat } from './output.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export interface ClientFlags {
  server: string;
  token?: string;
  dataDir: string;
  output: OutputFormat;
}

/** The flags shared by every command that talks to a server. Added per command: see main.ts. */
export function withClientOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--server <url>', 'metalboot server to talk to').env('METALBOOT_SERVER').default(DEFAULT_SERVER),
    )
    .addOption(
      new Option('--token <token>', "admin API token (default: the server's <data-dir>/api-token)").env(
        'METALBOOT_API_TOKEN',
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'where `metalboot serve` keeps api-token')
        .env('METALBOOT_DATA_DIR')
        .default('data'),
    )
    .addOption(
      new Option('-o, --output <format>', 'table (for people) or json (for scripts)')
        .choices(['table', 'json'])
        .default('table'),
    );
}

export function clientFlags(cmd: Command): ClientFlags {
  return cmd.opts<ClientFlags>();
}

/** --token, else METALBOOT_API_TOKEN (commander folds that into --token), else the token file. */
export function resolveToken(flags: Pick<ClientFlags, 'token' | 'dataDir'>): string {
  if (flags.token) return flags.token;
  const file = join(flags.dataDir, 'api-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      throw new CliError(
        `cannot read ${file}: permission denied`,
        EXIT.unreachable,
        'run as the user that runs `metalboot serve`, or pass --token / set METALBOOT_API_TOKEN',
      );
    }
    throw new CliError(
      `no API token: ${file} does not exist`,
      EXIT.unreachable,
      'pass --token or set METALBOOT_API_TOKEN, or point --data-dir (METALBOOT_DATA_DIR) at the data directory of `metalboot serve`',
    );
  }
}

export function normaliseServerUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new CliError(`--server "${value}" is not a URL`, EXIT.usage, `use e.g. --server ${DEFAULT_SERVER}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new CliError(`--server must be http:// or https://, got "${value}"`, EXIT.usage);
  return u.toString().replace(/\/+$/, '');
}

interface ApiErrorBody {
  error?: string;
  message?: string;
  field?: string;
}

export class ApiClient {
  readonly server: string;

  constructor(
    server: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.server = normaliseServerUrl(server);
  }

  static fromFlags(flags: ClientFlags): ApiClient {
    const server = normaliseServerUrl(flags.server); // a bad URL is reported before a missing token
    return new ApiClient(server, resolveToken(flags));
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.server}/api/v1${path}`;
    const res = await this.fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
    throw errorFromBody(res.status, text, method, path, this.server);
  }

  /** A long-lived GET (Server-Sent Events): no deadline; `signal` ends it. Error statuses throw like request(). */
  async stream(path: string, signal: AbortSignal): Promise<Response> {
    const res = await this.fetch(`${this.server}/api/v1${path}`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
      signal,
    });
    if (res.ok) return res;
    throw errorFromBody(res.status, await res.text(), 'GET', path, this.server);
  }

  /** fetch with a deadline, and connection failures turned into exit code 4 with a hint. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw unreachable(err, this.server, this.timeoutMs);
    }
  }
}

export function unreachable(err: unknown, server: string, timeoutMs: number): UnreachableError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const hint = `is \`metalboot serve\` running there? Point --server (METALBOOT_SERVER) at it`;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new UnreachableError(`metalboot at ${server} did not answer within ${timeoutMs / 1000} s`, hint);
  }
  const why =
    e.cause?.code === 'ECONNREFUSED' ? 'connection refused' : (e.cause?.code ?? e.cause?.message ?? e.message);
  return new UnreachableError(`cannot reach metalboot at ${server}: ${why}`, hint);
}

function errorFromBody(status: number, text: string, method: string, path: string, server: string): CliError {
  let parsed: ApiErrorBody;
  try {
    parsed = JSON.parse(text) as ApiErrorBody;
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  return apiError(status, parsed, method, path, server);
}

function apiError(status: number, body: ApiErrorBody, method: string, path: string, server: string): CliError {
  const message = body.message ?? `HTTP ${status}`;
  if (status === 401 || status === 403) {
    return new CliError(
      `${server} refused the API token (${message})`,
      EXIT.unreachable,
      'use the token of that server: its <data-dir>/api-token or the METALBOOT_API_TOKEN it was started with (--token, METALBOOT_API_TOKEN or --data-dir)',
    );
  }
  if (status === 404 && /^no route for /.test(message)) {
    return new CliError(
      `${server} does not support ${method} /api/v1${path.split('?')[0]}`,
      EXIT.failed,
      'the server is older than this CLI: upgrade metalboot on the server',
    );
  }
  if (status === 404) return new CliError(message, EXIT.notFound);
  // A machine naming a cluster that does not exist is the API's 400 (the body is malformed), but
  // for the person at the terminal it is "no such cluster": exit 2, as README's table says.
  if (status === 400 && body.field === 'cluster' && /does not exist/.test(message))
    return new CliError(message, EXIT.notFound, 'see the clusters with `metalboot cluster list`');
  if (status === 409) return new CliError(message, EXIT.conflict);
  if (status >= 400 && status < 500)
    return new CliError(body.field ? `${message} (field: ${body.field})` : message, EXIT.usage);
  return new CliError(`server error (HTTP ${status}): ${message}`, EXIT.failed, 'the server log says more');
}
