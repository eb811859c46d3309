/**
 * Exit codes of the `metalboot` command. Scripts branch on these, so they are part of the CLI's
 * contract: never renumber, only add.
 */
export const EXIT = {
  ok: 0,
  /** Bad flags or arguments, unreadable input files, or the server refused the request (HTTP 400). */
  usage: 1,
  /** The cluster or machine does not exist (HTTP 404). */
  notFound: 2,
  /** The request conflicts with what exists: duplicate, still in use (HTTP 409). */
  conflict: 3,
  /** The server cannot be reached, or it refused the API token (HTTP 401/403). */
  unreachable: 4,
  /** The server failed (HTTP 5xx), lacks the route, or a download from a mirror failed: try again later. */
  failed: 5,
  /** A downloaded file did not match its published checksum or does not look like what it claims. */
  integrity: 6,
  /** `doctor` found at least one problem. */
  doctorFailed: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error meant for the person at the terminal: what went wrong, and what to do about it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** One line telling the user what to do next. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The server did not answer at all (as opposed to refusing): worth retrying while following. */
export class UnreachableError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.unreachable, hint);
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, EXIT.usage, hint);
