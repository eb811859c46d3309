/**
 * Errors the core raises. Adapters map them to their protocol (HTTP status, log line);
 * the core never knows about transports.
 */
export class MetalbootError extends Error {
  /** Machine-readable kind, stable across versions: becomes `error` in API responses. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The caller sent something malformed or inconsistent (HTTP 400). */
export class ValidationError extends MetalbootError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super('validation', message);
    this.field = field;
  }
}

export class NotFoundError extends MetalbootError {
  constructor(message: string) {
    super('not_found', message);
  }
}

/** The request conflicts with existing state: duplicate MAC, cluster still in use (HTTP 409). */
export class ConflictError extends MetalbootError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/**
 * Something metalboot depends on failed (a BMC refused or did not answer): HTTP 502 with its words.
 * Not "internal": the operator can act on it (wrong password, BMC unplugged).
 */
export class UpstreamError extends MetalbootError {}

/**
 * The store cannot be reached (its server stopped, the connection was cut): HTTP 503 with
 * Retry-After, DHCP silent. Nothing was written by the call that failed; the same request succeeds
 * once the store is back, without a restart. Raised by store adapters for connection failures only
 * (a constraint violation keeps its own mapping).
 */
export class UnavailableError extends MetalbootError {
  constructor(message: string) {
    super('unavailable', message);
  }
}
