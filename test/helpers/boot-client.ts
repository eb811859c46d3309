/**
 * A simulated machine's HTTP boot as iPXE and Talos do it, against whichever metalboot instance
 * the caller picks per request: `/boot.ipxe`, `/ipxe?mac=…` (the install script, which names the
 * config URL with a per-boot token), then that config URL. Each machine sends from its own loopback
 * address (127.0.0.0/8 is all local on Linux), so the script's token binding to the source address
 * holds and `/boot.ipxe` is attributed to the machine registered with that address.
 */
import { request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

/** One GET on a new connection from `localAddress`; rejects on a connection error or after `timeoutMs`. */
export function getFrom(base: string, path: string, localAddress: string, timeoutMs = 5_000): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), path, method: 'GET', localAddress, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export type Step = 'boot' | 'ipxe' | 'config';

/** What one machine got, per step: answered 2xx, answered otherwise, not answered at all. */
export interface MachineTally {
  ok: Record<Step, number>;
  /** Requests that never got an answer (the instance died under them): they may or may not have been recorded. */
  lost: Record<Step, number>;
  /** Answers that were not 2xx, with their status and body (there should be none). */
  refused: string[];
  /** Every config token a 2xx script carried. */
  tokens: string[];
  /** Config bodies that did not name the machine's hostname (there should be none). */
  wrongConfig: number;
}

export function newTally(): MachineTally {
  return {
    ok: { boot: 0, ipxe: 0, config: 0 },
    lost: { boot: 0, ipxe: 0, config: 0 },
    refused: [],
    tokens: [],
    wrongConfig: 0,
  };
}

export interface SimMachine {
  mac: string;
  ip: string;
  hostname: string;
  tally: MachineTally;
}

/**
 * One boot of `m`: each step goes to `pick(step)`; a step that gets no answer is retried (at most
 * `tries` times) on whatever `pick` says then, as iPXE and Talos retry. `onAnswer` runs after every
 * answered request (the caller counts them, and kills an instance at a given count), `onLost` after
 * every unanswered one.
 */
export async function bootOnce(
  m: SimMachine,
  pick: (step: Step, attempt: number) => string,
  onAnswer: (base: string, step: Step, a: Answer) => void,
  onLost: (base: string, step: Step) => void = () => undefined,
  tries = 3,
): Promise<boolean> {
  const call = async (step: Step, path: string): Promise<Answer | undefined> => {
    for (let attempt = 0; attempt < tries; attempt++) {
      const base = pick(step, attempt);
      let a: Answer;
      try {
        a = await getFrom(base, path, m.ip);
      } catch {
        m.tally.lost[step]++;
        onLost(base, step);
        continue;
      }
      onAnswer(base, step, a);
      if (a.status >= 200 && a.status < 300) {
        m.tally.ok[step]++;
        return a;
      }
      m.tally.refused.push(`${step} ${base}${path}: ${a.status} ${a.body.slice(0, 200)}`);
      return undefined;
    }
    return undefined;
  };
  if (!(await call('boot', '/boot.ipxe'))) return false;
  const script = await call('ipxe', `/ipxe?mac=${m.mac}&arch=x86_64&platform=efi`);
  if (!script) return false;
  const url = /talos\.config=(\S+)/.exec(script.body)?.[1];
  if (!url) {
    m.tally.refused.push(`ipxe: no talos.config= in the script: ${script.body.slice(0, 200)}`);
    return false;
  }
  const { pathname, search } = new URL(url);
  m.tally.tokens.push(new URLSearchParams(search).get('token') ?? '');
  const config = await call('config', pathname + search);
  if (!config) return false;
  if (!config.body.includes(`hostname: ${m.hostname}`)) m.tally.wrongConfig++;
  return true;
}
