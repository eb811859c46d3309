/**
 * A scripted PXE client for the proxyDHCP test, run inside a client namespace. There is no PXE
 * firmware on the CI machine (no QEMU), so this does what NOTES.md records OVMF and iPXE doing:
 *   phase `discover`: broadcast an OVMF-shaped DISCOVER, collect offers for 2 s, take the address
 *     from the offer with a yiaddr and the boot file from the proxy offer (vendor class PXEClient,
 *     no yiaddr), REQUEST the address from its server and wait for the ACK;
 *   phase `proxy-request`: once the address is configured, ask the proxy on port 4011 as iPXE does.
 * Prints one line: RESULT {json}.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { decodeDhcp, encodeDhcp, type DhcpPacket } from '../../src/dhcp/codec.js';
import { bindSocketToInterface, interfaceIndex } from '../../src/net/bind-interface.js';
import { Opt, readIp, readString, readU8 } from '../../src/dhcp/options.js';
import { CLIENT_SHAPES, ip, macBytes, type RawOption } from './dhcp-packets.js';

interface Args {
  phase: 'discover' | 'proxy-request';
  ifname: string;
  ciaddr?: string;
  proxy?: string;
}

function request(mac: string, xid: number, type: number, options: RawOption[], ciaddr = '0.0.0.0'): Buffer {
  const chaddr = new Uint8Array(16);
  chaddr.set(macBytes(mac));
  const map = new Map<number, Uint8Array>([[Opt.MESSAGE_TYPE, Uint8Array.of(type)]]);
  for (const [code, v] of options)
    map.set(code, typeof v === 'string' ? new Uint8Array(Buffer.from(v)) : Uint8Array.from(v));
  const p: DhcpPacket = {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 0,
    flags: 0x8000,
    ciaddr,
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options: map,
  };
  return encodeDhcp(p);
}

const summary = (p: DhcpPacket) => ({
  type: readU8(p.options.get(Opt.MESSAGE_TYPE)),
  yiaddr: p.yiaddr,
  siaddr: p.siaddr,
  file: p.file,
  bootfile: readString(p.options.get(Opt.BOOTFILE_NAME)),
  vendorClass: readString(p.options.get(Opt.VENDOR_CLASS)),
  server: readIp(p.options.get(Opt.SERVER_ID)),
});

export async function main(argsJson: string): Promise<void> {
  const args = JSON.parse(argsJson) as Args;
  const mac = readFileSync(`/sys/class/net/${args.ifname}/address`, 'utf8').trim();
  const xid = Math.floor(Math.random() * 0xffffffff);
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => socket.bind(68, '0.0.0.0', () => r()));
  bindSocketToInterface(socket, interfaceIndex(args.ifname), args.ifname);
  socket.setBroadcast(true);
  const replies: DhcpPacket[] = [];
  socket.on('message', (msg) => {
    const d = decodeDhcp(msg);
    if (d.ok && d.packet.op === 2 && d.packet.xid === xid) replies.push(d.packet);
  });
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const result: Record<string, unknown> = { mac };

  if (args.phase === 'discover') {
    socket.send(request(mac, xid, 1, CLIENT_SHAPES.ovmfPxe()), 67, '255.255.255.255');
    // Like firmware, collect offers for a while: the proxy's and the DHCP server's come independently.
    await wait(3000);
    const offers = replies.splice(0).filter((p) => readU8(p.options.get(Opt.MESSAGE_TYPE)) === 2);
    const address = offers.find((p) => p.yiaddr !== '0.0.0.0');
    const proxy = offers.find(
      (p) => p.yiaddr === '0.0.0.0' && readString(p.options.get(Opt.VENDOR_CLASS)) === 'PXEClient',
    );
    result.offers = offers.map(summary);
    if (address) {
      const server = readIp(address.options.get(Opt.SERVER_ID))!;
      const req: RawOption[] = [
        ...CLIENT_SHAPES.ovmfPxe(),
        [Opt.SERVER_ID, ip(server)],
        [Opt.REQUESTED_IP, ip(address.yiaddr)],
      ];
      socket.send(request(mac, xid, 3, req), 67, '255.255.255.255');
      await wait(1500);
      const ack = replies.find((p) => readU8(p.options.get(Opt.MESSAGE_TYPE)) === 5 && p.yiaddr !== '0.0.0.0');
      result.address = ack?.yiaddr;
      result.addressServer = server;
    }
    result.bootFile = proxy?.file;
    result.nextServer = proxy?.siaddr;
  } else {
    socket.send(request(mac, xid, 3, CLIENT_SHAPES.ipxeEfi(), args.ciaddr), 4011, args.proxy!);
    await wait(1500);
    result.acks = replies.map(summary);
  }
  socket.close();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
