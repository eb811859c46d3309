/**
 * Tie a dgram socket to one network interface. Node cannot: a socket on 0.0.0.0:67 would hear
 * (and answer) DHCP on every interface of the host, and one bound to the interface's address
 * never sees the 255.255.255.255 broadcasts clients send. Linux's SO_BINDTOIFINDEX (5.7+) fixes
 * both directions: only that interface's datagrams arrive, and limited broadcasts leave through it.
 * The `sockopt` addon sets it; it only passes integers, hence the ifindex variant rather than
 * SO_BINDTODEVICE, which takes a name.
 */
import type { Socket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const SOL_SOCKET = 1;
const SO_BINDTOIFINDEX = 62;
const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/; // IFNAMSIZ is 16 with the NUL; no path tricks

/** `purpose` names the socket in messages (DHCP, Wake-on-LAN). */
export function interfaceIndex(name: string, purpose = 'DHCP'): number {
  if (!IFNAME.test(name)) throw new Error(`"${name}" is not a valid network interface name`);
  let text: string;
  try {
    text = readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8');
  } catch {
    let known = '';
    try {
      known = ` (this host has: ${readdirSync('/sys/class/net').join(', ')})`;
    } catch {
      // no sysfs: not Linux; the message below still says what is wrong
    }
    throw new Error(`${purpose} interface "${name}" does not exist${known}`);
  }
  const index = Number(text.trim());
  if (!Number.isInteger(index) || index <= 0) throw new Error(`cannot read the index of interface "${name}"`);
  return index;
}

type FdHolder = { _handle: { fd: number } };
interface SockOpt {
  setsockopt(socket: FdHolder, level: number, name: number, value: number): void;
  getsockopt(socket: FdHolder, level: number, name: number): number;
}

function loadSockOpt(purpose: string): SockOpt {
  try {
    const require = createRequire(import.meta.url);
    return require('sockopt') as SockOpt;
  } catch (err) {
    throw new Error(
      `cannot load the "sockopt" native addon needed to bind ${purpose} to one interface (${(err as Error).message}); ` +
        'reinstall dependencies so it builds (node-gyp, a C++ compiler)',
    );
  }
}

/**
 * The socket's file descriptor. Node keeps it in an internal state object; `socket._handle`
 * reaches the same place but prints a deprecation warning (DEP0112) on every process start.
 */
function socketFd(socket: Socket): number {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const holder = socket as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>;
  const fd = state ? holder[state]?.handle?.fd : undefined;
  if (typeof fd !== 'number' || fd < 0) throw new Error('cannot find the file descriptor of a bound dgram socket');
  return fd;
}

/** Call after the socket is bound (it needs a file descriptor). */
export function bindSocketToInterface(socket: Socket, ifindex: number, name: string, purpose = 'DHCP'): void {
  const sockopt = loadSockOpt(purpose);
  try {
    // sockopt reads `._handle.fd` from whatever it is given: hand it the fd directly.
    const holder = { _handle: { fd: socketFd(socket) } };
    sockopt.setsockopt(holder, SOL_SOCKET, SO_BINDTOIFINDEX, ifindex);
    // Read it back: serving every interface by accident is the failure that must not be silent.
    const bound = sockopt.getsockopt(holder, SOL_SOCKET, SO_BINDTOIFINDEX);
    if (bound !== ifindex) throw new Error(`socket reports interface index ${bound}, not ${ifindex}`);
  } catch (err) {
    throw new Error(
      `cannot bind the ${purpose} socket to interface "${name}" (SO_BINDTOIFINDEX needs Linux >= 5.7): ${(err as Error).message}`,
    );
  }
}
