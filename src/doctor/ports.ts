/**
 * Can metalboot have its ports, and if someone has them, who? Binding is the only reliable test
 * of "bindable" (permissions, capabilities, SO_REUSEADDR games); /proc tells who holds a port, so
 * "in use" can say "by metalboot (pid 812)" or "by dnsmasq (pid 377)".
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export type Proto = 'tcp' | 'udp';
export type BindResult =
  | { state: 'free' }
  | { state: 'in-use' }
  | { state: 'denied'; message: string }
  | { state: 'error'; message: string };

/** Bind for a moment, then let go. Without SO_REUSEADDR, so a metalboot holding the port (with it) still counts as holding it. */
export function probeBind(proto: Proto, host: string, port: number): Promise<BindResult> {
  return new Promise((resolve) => {
    const fail = (err: NodeJS.ErrnoException) =>
      resolve(
        err.code === 'EADDRINUSE'
          ? { state: 'in-use' }
          : err.code === 'EACCES' || err.code === 'EPERM'
            ? { state: 'denied', message: err.message }
            : { state: 'error', message: err.message },
      );
    if (proto === 'tcp') {
      const server = createServer();
      server.once('error', fail);
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve({ state: 'free' })));
    } else {
      const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });
      socket.once('error', (err) => {
        socket.close();
        fail(err);
      });
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve({ state: 'free' })));
    }
  });
}

export interface PortOwner {
  pid: number;
  /** argv joined by spaces. */
  command: string;
  isMetalboot: boolean;
}

/** Who holds a local TCP listener or UDP socket on this port; empty when unknown (e.g. not root). */
export function portOwners(proto: Proto, port: number): PortOwner[] {
  const inodes = new Set<string>();
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local) continue;
      const hexPort = local.slice(local.lastIndexOf(':') + 1);
      // TCP: listeners only (state 0A); UDP has no states that matter here.
      if (parseInt(hexPort, 16) === port && (proto === 'udp' || f[3] === '0A') && f[9] && f[9] !== '0')
        inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return [];
  const owners: PortOwner[] = [];
  for (const pid of readdirSafe('/proc').filter((p) => /^\d+$/.test(p))) {
    const fds = readdirSafe(`/proc/${pid}/fd`);
    const holds = fds.some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]!);
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let argv: string[] = [];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      // exited meanwhile
    }
    owners.push({ pid: Number(pid), command: argv.join(' '), isMetalboot: isMetalbootServe(argv) });
  }
  return owners;
}

/** `metalboot serve …`, or `node …/dist/cli/main.js serve …` when run from a checkout. */
export function isMetalbootServe(argv: string[]): boolean {
  return argv.includes('serve') && argv.some((a) => /(^|\/)metalboot$/.test(a) || /(^|\/)dist\/cli\/main\.js$/.test(a));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** "dnsmasq (pid 377)": the program name, not its whole command line. */
export function describeOwner(o: PortOwner): string {
  const [exe, ...args] = o.command.split(' ');
  const name = exe ? exe.replace(/^.*\//, '') : '?';
  // For node, the script says more than "node": show its last two path segments.
  const main = name === 'node' ? args.find((a) => !a.startsWith('-')) : undefined;
  const script = main ? ` ${main.replace(/^.*\/(?=[^/]+\/[^/]+$)/, '')}` : '';
  return `${name}${script} (pid ${o.pid})`;
}
