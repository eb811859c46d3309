// A DHCP client for many simulated machines at once: one UDP socket on port 68, replies
// dispatched to the waiting exchange by xid (and checked against its chaddr). Packets are built and
// parsed with metalboot's own codec (src/dhcp/codec.ts, read-only), shaped like what the firmware
// sends (/work/shared/pxe-lab/NOTES.md): OVMF's PXE (arch 7, `PXEClient:Arch:00007:UNDI:003000`)
// and then iPXE (user class `iPXE`, option 175, `…:UNDI:003010`).
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { BOOTREQUEST, BROADCAST_FLAG, decodeDhcp, encodeDhcp, type DhcpPacket } from '../../src/dhcp/codec.js';
import { MessageType, Opt, readIp, readString, readU8 } from '../../src/dhcp/options.js';

const PRL_OVMF = [
  1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130,
  131, 132, 133, 134, 135,
];
const PRL_IPXE = [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203];
const IPXE_175 = [
  0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0x24, 0x01, 0x01, 0x27, 0x01, 0x01, 0x19, 0x01, 0x01, 0x29, 0x01, 0x01,
  0x10, 0x01, 0x02, 0x22, 0x01, 0x01, 0x3b, 0x01, 0x01, 0x17, 0x01, 0x01, 0x1e, 0x01, 0x01, 0x15, 0x01, 0x01, 0x12,
  0x01, 0x01, 0x11, 0x01, 0x01,
];

export type ClientProfile = 'uefi-pxe' | 'ipxe';

export interface DhcpMachine {
  mac: string;
  /** SMBIOS UUID as 16 wire bytes (option 97 after the type byte). */
  uuidRaw: Uint8Array;
}

export interface DoraResult {
  ip: string;
  serverId: string;
  siaddr: string;
  /** Boot file: option 67, else the `file` field. */
  bootFile: string;
  /** Milliseconds from the first DISCOVER to the OFFER, and to the ACK. */
  offerMs: number;
  doraMs: number;
  /** Retransmissions (DISCOVER and REQUEST). */
  retries: number;
}

export interface DoraOptions {
  /** Retransmission timeouts in ms, one per attempt (PXE uses 4, 8, 16, 32 s). */
  timeoutsMs: number[];
}

interface Waiter {
  chaddr: string;
  want: number;
  resolve: (p: DhcpPacket) => void;
}

function macBytes(mac: string): Uint8Array {
  const out = new Uint8Array(16);
  mac.split(':').forEach((h, i) => (out[i] = parseInt(h, 16)));
  return out;
}

export class DhcpClient {
  private readonly socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  private readonly waiters = new Map<number, Waiter>();
  /** Replies nobody waited for (late duplicates after a retransmission). */
  stray = 0;
  sent = 0;

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(68, '0.0.0.0', () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.socket.setBroadcast(true);
    this.socket.setRecvBufferSize(8 * 1024 * 1024);
    this.socket.setSendBufferSize(4 * 1024 * 1024);
    this.socket.on('message', (msg) => this.onMessage(msg));
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(msg: Buffer): void {
    const d = decodeDhcp(msg);
    if (!d.ok || d.packet.op !== 2) return;
    const w = this.waiters.get(d.packet.xid);
    const type = readU8(d.packet.options.get(Opt.MESSAGE_TYPE));
    if (!w || Buffer.from(d.packet.chaddr.subarray(0, 6)).toString('hex') !== w.chaddr) {
      this.stray++;
      return;
    }
    if (type === MessageType.NAK || type === w.want) {
      this.waiters.delete(d.packet.xid);
      w.resolve(d.packet);
    } else {
      this.stray++;
    }
  }

  private newXid(): number {
    for (;;) {
      const xid = randomInt(1, 0xffffffff);
      if (!this.waiters.has(xid)) return xid;
    }
  }

  private packet(
    m: DhcpMachine,
    profile: ClientProfile,
    xid: number,
    type: number,
    extra: Array<[number, Uint8Array]>,
  ): Buffer {
    const options = new Map<number, Uint8Array>();
    options.set(Opt.MESSAGE_TYPE, Uint8Array.of(type));
    for (const [code, value] of extra) options.set(code, value);
    options.set(Opt.MAX_MESSAGE_SIZE, Uint8Array.of(0x05, 0xc0));
    options.set(Opt.CLIENT_ARCH, Uint8Array.of(0, 7));
    if (profile === 'uefi-pxe') {
      options.set(Opt.CLIENT_NDI, Uint8Array.of(1, 3, 0));
      options.set(Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00007:UNDI:003000', 'latin1'));
      options.set(Opt.PARAMETER_LIST, Uint8Array.from(PRL_OVMF));
    } else {
      options.set(Opt.CLIENT_NDI, Uint8Array.of(1, 3, 10));
      options.set(Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00007:UNDI:003010', 'latin1'));
      options.set(Opt.USER_CLASS, Buffer.from('iPXE', 'latin1'));
      options.set(Opt.PARAMETER_LIST, Uint8Array.from(PRL_IPXE));
      options.set(Opt.IPXE_ENCAP, Uint8Array.from(IPXE_175));
      options.set(Opt.CLIENT_ID, Uint8Array.from([1, ...macBytes(m.mac).subarray(0, 6)]));
    }
    options.set(Opt.CLIENT_MACHINE_ID, Uint8Array.from([0, ...m.uuidRaw]));
    const p: DhcpPacket = {
      op: BOOTREQUEST,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid,
      secs: 0,
      flags: BROADCAST_FLAG, // OVMF's replies are broadcast (NOTES.md): every server then broadcasts
      ciaddr: '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: macBytes(m.mac),
      sname: '',
      file: '',
      options,
    };
    return encodeDhcp(p);
  }

  /** Sends `buf` and waits for a reply of type `want` (or a NAK), retransmitting on timeout. */
  private async exchange(
    m: DhcpMachine,
    xid: number,
    buf: Buffer,
    want: number,
    timeoutsMs: number[],
  ): Promise<{ packet: DhcpPacket; retries: number }> {
    const chaddr = m.mac.replaceAll(':', '');
    let retries = 0;
    for (let attempt = 0; attempt < timeoutsMs.length; attempt++) {
      if (attempt > 0) retries++;
      const reply = await new Promise<DhcpPacket | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(xid);
          resolve(undefined);
        }, timeoutsMs[attempt]);
        this.waiters.set(xid, {
          chaddr,
          want,
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
        });
        this.sent++;
        this.socket.send(buf, 67, '255.255.255.255');
      });
      if (reply) return { packet: reply, retries };
    }
    throw Object.assign(
      new Error(`no ${want === MessageType.OFFER ? 'OFFER' : 'ACK'} after ${timeoutsMs.length} tries`),
      { retries },
    );
  }

  /**
   * DISCOVER → OFFER → REQUEST → ACK. A NAK sends the client back to DISCOVER (RFC 2131 §4.4.1;
   * firmware does the same), up to `restarts` times, each counted as a retry. Throws (with
   * `.retries`) when the server stays silent or keeps NAKing.
   */
  async dora(m: DhcpMachine, profile: ClientProfile, opts: DoraOptions & { restarts?: number }): Promise<DoraResult> {
    const started = performance.now();
    let retries = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.doraOnce(m, profile, opts);
        return { ...r, offerMs: r.offerMs, doraMs: performance.now() - started, retries: r.retries + retries };
      } catch (err) {
        const e = err as { retries?: number; nak?: boolean };
        retries += (e.retries ?? 0) + 1;
        if (!e.nak || attempt >= (opts.restarts ?? 3)) {
          e.retries = retries - 1;
          throw err;
        }
      }
    }
  }

  private async doraOnce(m: DhcpMachine, profile: ClientProfile, opts: DoraOptions): Promise<DoraResult> {
    const started = performance.now();
    const xid = this.newXid();
    const offer = await this.exchange(
      m,
      xid,
      this.packet(m, profile, xid, MessageType.DISCOVER, []),
      MessageType.OFFER,
      opts.timeoutsMs,
    );
    const offerMs = performance.now() - started;
    const o = offer.packet;
    if (readU8(o.options.get(Opt.MESSAGE_TYPE)) !== MessageType.OFFER)
      throw Object.assign(new Error('NAK instead of OFFER'), { retries: offer.retries, nak: true });
    const serverId = readIp(o.options.get(Opt.SERVER_ID)) ?? o.siaddr;
    const request = this.packet(m, profile, xid, MessageType.REQUEST, [
      [Opt.REQUESTED_IP, Uint8Array.from(o.yiaddr.split('.').map(Number))],
      [Opt.SERVER_ID, Uint8Array.from(serverId.split('.').map(Number))],
    ]);
    let ack: { packet: DhcpPacket; retries: number };
    try {
      ack = await this.exchange(m, xid, request, MessageType.ACK, opts.timeoutsMs);
    } catch (err) {
      (err as { retries: number }).retries += offer.retries;
      throw err;
    }
    const a = ack.packet;
    const retries = offer.retries + ack.retries;
    if (readU8(a.options.get(Opt.MESSAGE_TYPE)) !== MessageType.ACK) {
      throw Object.assign(new Error(`NAK: ${readString(a.options.get(Opt.MESSAGE)) ?? ''}`), { retries, nak: true });
    }
    return {
      ip: a.yiaddr,
      serverId,
      siaddr: a.siaddr,
      bootFile: readString(a.options.get(Opt.BOOTFILE_NAME)) ?? a.file,
      offerMs,
      doraMs: performance.now() - started,
      retries,
    };
  }
}

/** Deterministic machine identities: MAC 02:bb:<4 bytes of i>, UUID derived from i. */
export function machineIdentity(i: number): DhcpMachine & { uuid: string } {
  const b = [(i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255];
  const mac = ['02', 'bb', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':');
  const hex = `b0e1c4a0${b.map((x) => x.toString(16).padStart(2, '0')).join('')}0000000000000000`.slice(0, 32);
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  const raw = Buffer.from(hex, 'hex');
  // SMBIOS: first three fields little-endian on the wire.
  const wire = Buffer.concat([
    Buffer.from(raw.subarray(0, 4)).reverse(),
    Buffer.from(raw.subarray(4, 6)).reverse(),
    Buffer.from(raw.subarray(6, 8)).reverse(),
    raw.subarray(8),
  ]);
  return { mac, uuid, uuidRaw: new Uint8Array(wire) };
}
