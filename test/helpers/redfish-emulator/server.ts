/**
 * The emulated BMC's HTTPS service: routes, HTTP basic and session (X-Auth-Token) authentication,
 * validation of PATCH and Reset bodies against the advertised allowable values, ETag/If-Match on the
 * ComputerSystem, and the knobs of `state.knobs`. Listens on 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as R from './resources.js';
import {
  applyReset,
  BOOT_ENABLED,
  BOOT_MODES,
  BOOT_TARGETS,
  type EmulatorState,
  type ResetType,
  type SystemState,
} from './state.js';

const MAX_BODY = 64 * 1024;

interface Reply {
  status: number;
  body?: object | string;
  headers?: Record<string, string>;
  /** Stream the body in pieces with no Content-Length (as a BMC that never stops talking would). */
  chunked?: boolean;
}

function send(res: ServerResponse, r: Reply): void {
  const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const headers: Record<string, string> = { 'OData-Version': '4.0', ...r.headers };
  if (text) headers['Content-Type'] = 'application/json; charset=utf-8';
  if (!r.chunked) headers['Content-Length'] = String(Buffer.byteLength(text));
  res.writeHead(r.status, headers);
  if (!r.chunked) return void res.end(text);
  for (let i = 0; i < text.length; i += 65536) res.write(text.slice(i, i + 65536));
  res.end();
}

function err(status: number, messageId: string, message: string, headers?: Record<string, string>): Reply {
  return { status, body: R.redfishError(messageId, message), headers };
}

type Auth = { kind: 'basic' | 'session'; user: string } | { kind: 'none' | 'bad' };

function authenticate(state: EmulatorState, req: IncomingMessage): Auth {
  const token = req.headers['x-auth-token'];
  if (typeof token === 'string') {
    const s = [...state.sessions.values()].find((x) => x.token === token);
    return s ? { kind: 'session', user: s.user } : { kind: 'bad' };
  }
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return { kind: 'none' };
  const [user, ...rest] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
  return user === state.username && rest.join(':') === state.password ? { kind: 'basic', user } : { kind: 'bad' };
}

function unauthorized(state: EmulatorState, req: IncomingMessage, auth: Auth): Reply {
  let msg =
    auth.kind === 'none'
      ? 'There is no valid session established with the implementation.'
      : 'The authentication credentials included with this request are missing or invalid.';
  if (state.knobs.echoCredentials) msg += ` (got ${req.headers.authorization ?? req.headers['x-auth-token']})`;
  return err(401, auth.kind === 'none' ? 'NoValidSession' : 'InsufficientPrivilege', msg, {
    'WWW-Authenticate': 'Basic realm="RedfishEmulator"',
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function patchSystem(sys: SystemState, req: IncomingMessage, body: Record<string, unknown> | undefined): Reply {
  const ifMatch = req.headers['if-match'];
  if (ifMatch && ifMatch !== '*' && ifMatch !== R.etag(sys) && ifMatch !== R.etag(sys).slice(2))
    return err(412, 'PreconditionFailed', `The ETag supplied did not match the ETag required to change this resource.`);
  if (!body) return err(400, 'MalformedJSON', 'The request body submitted was malformed JSON.');
  const boot = body.Boot as Record<string, unknown> | undefined;
  const unknown = Object.keys(body).filter((k) => k !== 'Boot');
  if (unknown.length) return err(400, 'PropertyNotWritable', `The property ${unknown[0]} is a read only property.`);
  if (!boot || typeof boot !== 'object') return err(400, 'PropertyMissing', 'The property Boot is required.');
  const rules: [string, readonly string[], keyof SystemState['boot']][] = [
    ['BootSourceOverrideTarget', BOOT_TARGETS, 'target'],
    ['BootSourceOverrideEnabled', BOOT_ENABLED, 'enabled'],
    ['BootSourceOverrideMode', BOOT_MODES, 'mode'],
  ];
  const next = { ...sys.boot };
  for (const key of Object.keys(boot)) {
    const rule = rules.find((r) => r[0] === key);
    if (!rule) return err(400, 'PropertyUnknown', `The property ${key} is not in the list of valid properties.`);
    const v = boot[key];
    if (typeof v !== 'string' || !rule[1].includes(v))
      return err(
        400,
        'PropertyValueNotInList',
        `The value ${JSON.stringify(v)} for the property ${key} is not in the list of acceptable values.`,
      );
    next[rule[2]] = v;
  }
  sys.boot = next;
  sys.generation++;
  return { status: 204 };
}

function resetSystem(sys: SystemState, body: Record<string, unknown> | undefined): Reply {
  if (!body) return err(400, 'MalformedJSON', 'The request body submitted was malformed JSON.');
  const type = body.ResetType;
  if (type === undefined)
    return err(400, 'ActionParameterMissing', 'The action Reset requires the parameter ResetType.');
  if (typeof type !== 'string' || !sys.resetTypes.includes(type as ResetType))
    return err(
      400,
      'ActionParameterValueNotInList',
      `The value ${JSON.stringify(type)} for the parameter ResetType in the action Reset is not in the list of acceptable values.`,
    );
  applyReset(sys, type as ResetType);
  return { status: 204 };
}

function createSession(state: EmulatorState, body: Record<string, unknown> | undefined): Reply {
  if (!body || body.UserName !== state.username || body.Password !== state.password)
    return err(401, 'NoValidSession', 'The user name or password supplied to create a session is not valid.');
  const id = String(state.nextSession++);
  const s = { id, token: randomBytes(16).toString('hex'), user: state.username };
  state.sessions.set(id, s);
  state.sessionLog.created.push(id);
  return {
    status: 201,
    body: R.session(s),
    headers: { 'X-Auth-Token': s.token, Location: R.sessionPath(s) },
  };
}

export function route(state: EmulatorState, req: IncomingMessage, text: string): Reply {
  const url = new URL(req.url ?? '/', 'https://bmc');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  const auth = authenticate(state, req);
  const ifMatch = req.headers['if-match'] ? ` if-match=${req.headers['if-match']}` : '';
  state.requests.push(`${method} ${path} ${auth.kind}${ifMatch}`);
  const body = parseJson(text);
  // Public: the version document, the service root, and the session login (DSP0266 §13.3).
  if (method === 'GET' && path === '/redfish') return { status: 200, body: { v1: '/redfish/v1/' } };
  if (method === 'GET' && path === '/redfish/v1') return { status: 200, body: R.serviceRoot() };
  if (method === 'POST' && path === '/redfish/v1/SessionService/Sessions') return createSession(state, body);
  if (auth.kind === 'none' || auth.kind === 'bad') return unauthorized(state, req, auth);
  if (state.knobs.fail500) {
    const extra = state.knobs.echoCredentials ? ` (password ${state.password})` : '';
    return err(500, 'InternalError', `The request failed due to an internal service error.${extra}`);
  }
  if (state.knobs.oversizeBytes > 0 && method === 'GET')
    return { status: 200, body: `{"pad":"${'x'.repeat(state.knobs.oversizeBytes)}"}`, chunked: true };

  const getOnly = (b: () => object): Reply =>
    method === 'GET' ? { status: 200, body: b() } : err(405, 'OperationNotAllowed', `${method} is not allowed here.`);
  if (path === '/redfish/v1/Systems') return getOnly(() => R.systemCollection(state));
  if (path === '/redfish/v1/SessionService') return getOnly(() => R.sessionService());
  if (path === '/redfish/v1/SessionService/Sessions') return getOnly(() => R.sessionCollection(state));

  const sm = /^\/redfish\/v1\/SessionService\/Sessions\/([^/]+)$/.exec(path);
  if (sm) {
    const s = state.sessions.get(sm[1]!);
    if (!s) return err(404, 'ResourceMissingAtURI', `The resource at the URI ${path} was not found.`);
    if (method === 'DELETE') {
      state.sessions.delete(s.id);
      state.sessionLog.deleted.push(s.id);
      return { status: 204 };
    }
    return getOnly(() => R.session(s));
  }

  const m = /^\/redfish\/v1\/Systems\/([^/]+)(\/Actions\/ComputerSystem\.Reset)?$/.exec(path);
  const sys = m && state.systems.find((s) => s.id === decodeURIComponent(m[1]!));
  if (!m || !sys) return err(404, 'ResourceMissingAtURI', `The resource at the URI ${path} was not found.`);
  if (m[2]) {
    if (method !== 'POST') return err(405, 'OperationNotAllowed', `${method} is not allowed on an action.`);
    return resetSystem(sys, body);
  }
  if (method === 'PATCH') return patchSystem(sys, req, body);
  if (method === 'GET') return { status: 200, body: R.computerSystem(sys), headers: { ETag: R.etag(sys) } };
  return err(405, 'OperationNotAllowed', `${method} is not allowed on a ComputerSystem.`);
}

export function handle(state: EmulatorState, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (state.knobs.hang === true || state.knobs.hang === req.method) {
      state.hung.push(`${req.method} ${req.url}`);
      return; // the socket stays open until the client gives up or the server closes
    }
    if (size > MAX_BODY) return send(res, err(413, 'GeneralError', 'The request body is too large.'));
    send(res, route(state, req, Buffer.concat(chunks).toString('utf8')));
  });
}

export interface RunningEmulator {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function listen(
  state: EmulatorState,
  tls: { key: string; cert: string },
  port = 0,
): Promise<RunningEmulator> {
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => handle(state, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
