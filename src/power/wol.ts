import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Machine } from '../core/types.js';
import { bindSocketToInterface, interfaceIndex } from '../net/bind-interface.js';
import type { PowerAction, PowerDriver, PowerResult } from '../core/power/power-driver.js';

/** The Wake-on-LAN magic packet: 6 × 0xFF, then the MAC 16 times (102 bytes). */
export function magicPacket(mac: string): Buffer {
  const bytes = mac.split(/[:-]/).map((h) => Number.parseInt(h, 16));
  if (bytes.length !== 6 || bytes.some((b) => !(b >= 0 && b <= 255))) throw new Error(`"${mac}" is not a MAC address`);
  const packet = Buffer.alloc(102, 0xff);
  for (let i = 0; i < 16; i++) Buffer.from(bytes).copy(packet, 6 + i * 6);
  return packet;
}

export interface WakeOnLanOptions {
  /** Where the packet goes (`255.255.255.255`, a subnet's broadcast, or in tests 127.0.0.1). */
  broadcast?: string;
  /** UDP port: 9 (discard) by convention, 7 on some NICs. */
  port?: number;
  /** Send out of this interface only (bound to it and its address); without `broadcast`, to its subnet's broadcast. */
  interface?: string;
}

/** `--wol-broadcast` value: `address` or `address:port`. */
export function parseWolBroadcast(value: string): { broadcast: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(value.trim());
  const port = m?.[2] ? Number(m[2]) : 9;
  if (!m || !isIPv4(m[1]!) || port < 1 || port > 65535)
    throw new Error(
      `--wol-broadcast "${value}" must be an IPv4 address with an optional port (e.g. 255.255.255.255:9)`,
    );
  return { broadcast: m[1]!, port };
}

/** An interface's IPv4 address and the directed broadcast address of its subnet. */
export function interfaceBroadcast(name: string): { address: string; broadcast: string } {
  const addr = networkInterfaces()[name]?.find((a) => a.family === 'IPv4');
  if (!addr) throw new Error(`--wol-interface ${name}: no such interface with an IPv4 address`);
  const toInt = (ip: string) => ip.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
  const n = (toInt(addr.address) | ~toInt(addr.netmask)) >>> 0;
  return { address: addr.address, broadcast: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.') };
}

/**
 * Wake-on-LAN: one UDP datagram per request, sent with SO_BROADCAST. The target is resolved per
 * send, so an interface that gets its address after startup still works.
 */
export class WakeOnLanDriver implements PowerDriver {
  readonly name = 'wol';

  constructor(private readonly opts: WakeOnLanOptions = {}) {}

  supports(action: PowerAction): boolean {
    return action === 'on';
  }

  target(): { address: string; port: number; bindAddress?: string } {
    const port = this.opts.port ?? 9;
    if (!this.opts.interface) return { address: this.opts.broadcast ?? '255.255.255.255', port };
    const iface = interfaceBroadcast(this.opts.interface);
    return { address: this.opts.broadcast ?? iface.broadcast, port, bindAddress: iface.address };
  }

  async perform(action: PowerAction, machine: Machine): Promise<PowerResult> {
    if (!this.supports(action)) throw new Error(`Wake-on-LAN cannot "${action}"`);
    const packet = magicPacket(machine.mac);
    const { address, port, bindAddress } = this.target();
    const socket = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: 0, address: bindAddress }, () => {
          try {
            // The address alone does not choose the way out: a limited broadcast (255.255.255.255)
            // follows the routing table. Tied to the interface, it leaves there and nowhere else.
            if (this.opts.interface)
              bindSocketToInterface(
                socket,
                interfaceIndex(this.opts.interface, 'Wake-on-LAN'),
                this.opts.interface,
                'Wake-on-LAN',
              );
            socket.setBroadcast(true);
          } catch (err) {
            return reject(err);
          }
          socket.send(packet, port, address, (err) => (err ? reject(err) : resolve()));
        });
      });
    } finally {
      socket.close();
    }
    return {
      driver: this.name,
      detail: {
        to: `${address}:${port}`,
        ...(this.opts.interface ? { interface: this.opts.interface } : {}),
        bytes: packet.length,
      },
    };
  }
}
