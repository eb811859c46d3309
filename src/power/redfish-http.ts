/**
 * One HTTPS request to a Redfish service, bounded: a hard time limit, a cap on the response body,
 * TLS verification unless the caller turns it off, and every failure turned into a `BmcError` with
 * the service's own words (the Redfish error's `message` and `@Message.ExtendedInfo[].Message`).
 * Never rejects with anything but a `BmcError`; the password never appears in one.
 */
import { request } from 'node:https';
import { BmcError } from './bmc-client.js';

export interface RedfishTarget {
  host: string;
  port: number;
  address: string;
  username: string;
  password: string;
  insecureTls: boolean;
  ca?: string;
}

export interface RedfishResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined for an empty body. */
  json: unknown;
}

export const DEFAULT_MAX_BODY = 1024 * 1024;

const TLS_CODES =
  /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_|ERR_TLS_|ERR_SSL_|EPROTO$)/;
const UNREACHABLE_CODES =
  /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET|EPIPE|EADDRNOTAVAIL)$/;

/** The BMC's words from a Redfish error body (or a short slice of whatever it sent). */
export function redfishWords(json: unknown, raw = ''): string {
  const e = (json as { error?: Record<string, unknown> } | undefined)?.error;
  if (e && typeof e === 'object') {
    const info = Array.isArray(e['@Message.ExtendedInfo']) ? (e['@Message.ExtendedInfo'] as unknown[]) : [];
    const extended = info
      .map((i) => (i && typeof i === 'object' ? (i as Record<string, unknown>).Message : undefined))
      .filter((m): m is string => typeof m === 'string');
    const words = [typeof e.message === 'string' ? e.message : '', ...extended].filter(Boolean);
    if (words.length) return words.join('; ').slice(0, 500);
  }
  return raw.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/** Removes the password (and the Basic credentials carrying it) from text a BMC sent back. */
export function scrub(text: string, t: Pick<RedfishTarget, 'username' | 'password'>): string {
  const basic = Buffer.from(`${t.username}:${t.password}`).toString('base64');
  let out = text;
  for (const secret of [basic, t.password]) if (secret) out = out.split(secret).join('***');
  return out;
}

export function redfishRequest(
  t: RedfishTarget,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; timeoutMs: number; maxBody?: number },
): Promise<RedfishResponse> {
  const what = `Redfish ${method} ${path} on BMC ${t.address}`;
  const maxBody = opts.maxBody ?? DEFAULT_MAX_BODY;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise<RedfishResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: BmcError | undefined, res?: RedfishResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        const base = err.detail ? err.message.slice(0, -(err.detail.length + 2)) : err.message;
        reject(new BmcError(err.kind, err.address, scrub(base, t), scrub(err.detail, t)));
      } else resolve(res!);
    };
    const req = request({
      host: t.host,
      port: t.port,
      method,
      path,
      agent: false,
      rejectUnauthorized: !t.insecureTls,
      ...(t.ca ? { ca: t.ca } : {}),
      headers: {
        Accept: 'application/json',
        'OData-Version': '4.0',
        Authorization: `Basic ${Buffer.from(`${t.username}:${t.password}`).toString('base64')}`,
        ...(payload !== undefined
          ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) }
          : {}),
        ...opts.headers,
      },
    });
    const timer = setTimeout(
      () => finish(new BmcError('timeout', t.address, `${what}: no answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (TLS_CODES.test(code))
        return finish(
          new BmcError(
            'tls',
            t.address,
            `${what}: the BMC's TLS certificate is not trusted (pin its CA with \`ca\`, or set insecureTls to skip verification)`,
            `${code}: ${e.message}`,
          ),
        );
      if (UNREACHABLE_CODES.test(code))
        return finish(
          new BmcError('unreachable', t.address, `${what}: the BMC does not answer`, `${code}: ${e.message}`),
        );
      finish(new BmcError('unreachable', t.address, `${what}: request failed`, `${code || e.name}: ${e.message}`));
    });
    req.on('response', (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > maxBody)
        return finish(new BmcError('output', t.address, `${what}: response of ${declared} bytes is over ${maxBody}`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBody)
          return finish(new BmcError('output', t.address, `${what}: response body is over ${maxBody} bytes`));
        chunks.push(c);
      });
      res.on('error', (e) => finish(new BmcError('unreachable', t.address, `${what}: response cut off`, e.message)));
      res.on('end', () => {
        if (settled) return;
        const raw = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        let parseError = '';
        if (raw.trim()) {
          try {
            json = JSON.parse(raw);
          } catch (e) {
            parseError = (e as Error).message;
          }
        }
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) {
          const words = redfishWords(json, raw) || `HTTP ${status}`;
          return finish(
            new BmcError('auth', t.address, `${what}: authentication failed (wrong username or password)`, words),
          );
        }
        if (status < 200 || status > 299) {
          const words = redfishWords(json, raw) || `HTTP ${status}`;
          return finish(new BmcError('command', t.address, `${what} failed with HTTP ${status}`, words));
        }
        if (parseError)
          return finish(new BmcError('output', t.address, `${what}: the answer is not JSON`, raw.slice(0, 200)));
        finish(undefined, { status, headers: res.headers, json });
      });
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
