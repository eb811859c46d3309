/** One finding of `metalboot doctor`. */
export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail';

export type CheckArea = 'settings' | 'server' | 'database' | 'ports' | 'network' | 'assets' | 'files' | 'machines';

export interface Check {
  area: CheckArea;
  /** fail: machines will not boot (or the server will not start); warn: they may not, or something is unsafe. */
  status: CheckStatus;
  message: string;
  /** What to do about it. */
  hint?: string;
}

export const AREAS: readonly CheckArea[] = [
  'settings',
  'server',
  'database',
  'ports',
  'network',
  'assets',
  'files',
  'machines',
];

/** What doctor needs from a metalboot server; the CLI adapts its API client to this. */
export interface DoctorApi {
  server: string;
  /** `GET /healthz`: undefined when it answers, else why not. */
  health(): Promise<string | undefined>;
  /** Admin API (`/api/v1` + path), token included; rejects with a message that says what to do. */
  get<T>(path: string): Promise<T>;
  /** Like get, but undefined for a 404 (no such machine, or no such route on an older server). */
  find<T>(path: string): Promise<T | undefined>;
  /** HEAD of a public path (assets record nothing on a HEAD): status and size; undefined when unreachable. */
  head(path: string): Promise<{ status: number; size?: number } | undefined>;
}
