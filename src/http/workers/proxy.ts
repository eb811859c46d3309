/**
 * A worker's stream proxy to the primary's internal listener: everything but `/assets/` goes
 * there, as the client sent it (method, path, end-to-end headers and body, streamed both ways),
 * with the client's address in FORWARDED_CLIENT_HEADER, which the primary believes only there.
 * Hop-by-hop headers stay on their own hop (RFC 9110 §7.6.1): the client's connection is this
 * worker's, the pooled one to the primary is the agent's.
 */
import { type Agent, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { clientIp, FORWARDED_CLIENT_HEADER } from '../auth.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

export interface ProxyLog {
  warn(obj: object, msg: string): void;
}

/** The raw header list without hop-by-hop fields (and those the Connection header names) or `drop`. */
export function endToEnd(raw: string[], drop?: string): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.toLowerCase() === 'connection')
      for (const n of raw[i + 1]!.split(',')) named.add(n.trim().toLowerCase());
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name) || name === drop) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** Forward one request to the primary and stream its answer back; a primary that does not answer is a 502. */
export interface Upstream {
  agent: Agent;
  socketPath: string;
}

export function forward(req: IncomingMessage, res: ServerResponse, to: Upstream, log: ProxyLog): void {
  const headers = endToEnd(req.rawHeaders, FORWARDED_CLIENT_HEADER);
  headers.push(FORWARDED_CLIENT_HEADER, clientIp(req));
  const up = request({
    agent: to.agent,
    socketPath: to.socketPath,
    method: req.method,
    path: req.url,
    headers: toObject(headers),
  });
  let answered = false;
  up.on('response', (answer) => {
    answered = true;
    if (res.destroyed) return void answer.destroy();
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
    answer.pipe(res);
    // The primary cut its answer short (it died, or cut a download): so does this one, the client sees it.
    answer.once('aborted', () => res.destroy());
    answer.once('error', () => res.destroy());
  });
  up.on('error', (err) => {
    if (answered || res.headersSent) return void res.destroy();
    log.warn({ err: err.message, url: req.url }, 'the primary did not answer a forwarded request');
    const body = JSON.stringify({ error: 'bad_gateway', message: 'the server could not answer; retry' });
    res.writeHead(502, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  // The client went away: so does the request to the primary (an event stream, an upload).
  res.once('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
}

/** Headers as node's client takes them, repeated fields kept as arrays (each sent on its own line). */
function toObject(flat: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? flat[i + 1]! : [...(Array.isArray(prev) ? prev : [prev]), flat[i + 1]!];
  }
  return out;
}
