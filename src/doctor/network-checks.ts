/**
 * The address machines are told to use, and the interface DHCP answers on. The commonest
 * provisioning failure is a URL machines cannot reach: loopback, a guessed address on the wrong
 * network, or a listen address that does not include it.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { BOOT_SCRIPT_PATH, IPXE_BIOS, IPXE_EFI_X64 } from '../core/boot/boot-file.js';
import { interfaceAddress } from '../settings/network-settings.js';
import type { DoctorSettings } from './settings.js';
import type { Check } from './types.js';

const ADVERTISE_HINT =
  'set --advertise-url (METALBOOT_ADVERTISE_URL) to http://<this host on the provisioning network>:<port>';

export async function networkChecks(s: DoctorSettings, serverUp: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (status: Check['status'], message: string, hint?: string) =>
    checks.push({ area: 'network', status, message, hint });
  const url = new URL(s.advertiseUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');

  if (s.advertiseFrom === 'guessed')
    add(
      'warn',
      `--advertise-url is not set: machines are told ${s.advertiseUrl} (this host's first non-loopback address)`,
      `${ADVERTISE_HINT} if that is not on the provisioning network`,
    );
  else
    add(
      'ok',
      `machines are told ${s.advertiseUrl} (${s.advertiseFrom === 'setting' ? 'from --advertise-url' : s.advertiseFrom === 'interface' ? `address of ${s.interface}` : 'from --listen'})`,
    );

  let address = isIP(host) ? host : undefined;
  if (!address) {
    try {
      address = (await lookup(host)).address;
      add('info', `${host} resolves to ${address} here; machines resolve it with the DNS server their DHCP gives them`);
    } catch {
      add(
        'warn',
        `${host} (from the advertise URL) does not resolve on this host`,
        "use an IP address, or make sure the provisioning network's DNS resolves it",
      );
    }
  }
  if (address) {
    const local = localAddress(address);
    if (/^127\.|^::1$/.test(address))
      add('fail', `${s.advertiseUrl} is a loopback address: no machine can reach it`, ADVERTISE_HINT);
    else if (local) add('ok', `${address} is an address of this host (${local.name}, ${local.cidr})`);
    else
      add(
        'warn',
        `${address} is not an address of this host`,
        'fine behind NAT or a reverse proxy; otherwise machines cannot reach metalboot there',
      );
  }
  if (url.protocol === 'https:')
    add(
      'info',
      'https advertise URL: iPXE must be built with HTTPS and trust the certificate; a TLS proxy must forward to metalboot',
    );

  if (serverUp) {
    try {
      const res = await fetch(`${s.advertiseUrl}/healthz`, { signal: AbortSignal.timeout(3000) });
      if (res.ok) add('ok', `${s.advertiseUrl}/healthz answers from here`);
      else
        add(
          'fail',
          `${s.advertiseUrl}/healthz answers HTTP ${res.status}`,
          'something other than metalboot is at the advertise URL',
        );
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      add(
        'fail',
        `nothing answers at ${s.advertiseUrl}/healthz from this host (${cause})`,
        `check --advertise-url against --listen ${s.listen.host}:${s.listen.port} (listen on 0.0.0.0, or on the advertised address)`,
      );
    }
  }

  if (s.dhcpMode === 'off') {
    const server = isIP(host) === 4 ? host : '<this host>';
    add(
      'info',
      `metalboot does not answer DHCP: your DHCP server must send PXE firmware to next-server ${server} with boot file ${IPXE_BIOS} (BIOS) or ${IPXE_EFI_X64} (UEFI), and iPXE clients (user class "iPXE") to ${s.advertiseUrl}${BOOT_SCRIPT_PATH}`,
      'or let metalboot do it: --dhcp proxy --interface <provisioning NIC>',
    );
    return checks;
  }
  if (!s.interface) {
    add('fail', `--dhcp ${s.dhcpMode} needs --interface: metalboot answers DHCP on one interface only`);
    return checks;
  }
  try {
    const ifa = interfaceAddress(s.interface);
    add('ok', `interface ${s.interface}: ${ifa.address} / ${ifa.netmask}`);
    if (address && isIP(address) === 4 && !sameSubnet(address, ifa.address, ifa.netmask)) {
      add(
        'warn',
        `machines on ${s.interface} (${ifa.address}/${ifa.netmask}) are told ${s.advertiseUrl}, outside that subnet`,
        'they need a route to it; usually the advertise URL should be the interface address',
      );
    }
  } catch (err) {
    add('fail', (err as Error).message);
  }
  return checks;
}

function localAddress(address: string): { name: string; cidr: string } | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const a = addrs?.find((x) => x.address === address);
    if (a) return { name, cidr: a.cidr ?? a.address };
  }
  return undefined;
}

const ipv4ToInt = (ip: string) => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;

export function sameSubnet(a: string, b: string, mask: string): boolean {
  const m = ipv4ToInt(mask);
  return (ipv4ToInt(a) & m) >>> 0 === (ipv4ToInt(b) & m) >>> 0;
}
