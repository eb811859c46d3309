/** What a decoded request tells us about the client, read once and typed. */
import { macFromBytes } from '../core/registry/mac.js';
import { uuidFromSmbiosBytes } from '../core/registry/uuid.js';
import type { DhcpPacket } from './codec.js';
import {
  messageTypeName,
  type MessageTypeName,
  Opt,
  readIp,
  readString,
  readU16List,
  readU8,
  readUserClasses,
} from './options.js';

export interface ClientFacts {
  mac: string;
  messageType: MessageTypeName | undefined;
  /** SMBIOS UUID from option 97 (type 0 + 16 bytes), in textual form. */
  uuid?: string;
  archs: number[];
  vendorClass?: string;
  userClasses: string[];
  isIpxe: boolean;
  /** Vendor class starts with PXEClient or HTTPClient: firmware (or iPXE) network boot. */
  isPxeClass: boolean;
  isHttpClass: boolean;
  /** Anything that asks to network-boot: PXE/HTTP vendor class, option 93, or iPXE. */
  wantsBoot: boolean;
  requestedIp?: string;
  serverId?: string;
  hostname?: string;
  /** The raw option 97 value, echoed in proxy replies as PXE clients expect. */
  machineIdRaw?: Uint8Array;
  /** The raw option 82 value: relay agents need it back unchanged. */
  relayAgentInfo?: Uint8Array;
  relayed: boolean;
  ciaddrSet: boolean;
}

export function clientFacts(p: DhcpPacket): ClientFacts {
  const o = p.options;
  const vendorClass = readString(o.get(Opt.VENDOR_CLASS));
  const userClasses = readUserClasses(o.get(Opt.USER_CLASS));
  const archs = readU16List(o.get(Opt.CLIENT_ARCH)) ?? [];
  const isIpxe = o.has(Opt.IPXE_ENCAP) || userClasses.includes('iPXE');
  const isPxeClass = vendorClass?.startsWith('PXEClient') === true;
  const isHttpClass = vendorClass?.startsWith('HTTPClient') === true;
  const machineIdRaw = o.get(Opt.CLIENT_MACHINE_ID);
  return {
    mac: macFromBytes(p.chaddr),
    messageType: messageTypeName(readU8(o.get(Opt.MESSAGE_TYPE))),
    uuid: machineUuid(machineIdRaw),
    archs,
    vendorClass,
    userClasses,
    isIpxe,
    isPxeClass,
    isHttpClass,
    wantsBoot: isPxeClass || isHttpClass || archs.length > 0 || isIpxe,
    requestedIp: readIp(o.get(Opt.REQUESTED_IP)),
    serverId: readIp(o.get(Opt.SERVER_ID)),
    hostname: readString(o.get(Opt.HOSTNAME)),
    machineIdRaw,
    relayAgentInfo: o.get(Opt.RELAY_AGENT_INFO),
    relayed: p.giaddr !== '0.0.0.0',
    ciaddrSet: p.ciaddr !== '0.0.0.0',
  };
}

/** RFC 4578 §2.3: type 0 followed by a 16-byte UUID; all-zero and all-ones mean "none". */
function machineUuid(v: Uint8Array | undefined): string | undefined {
  if (v?.length !== 17 || v[0] !== 0) return undefined;
  const raw = v.subarray(1);
  if (raw.every((b) => b === 0) || raw.every((b) => b === 0xff)) return undefined;
  return uuidFromSmbiosBytes(raw);
}
