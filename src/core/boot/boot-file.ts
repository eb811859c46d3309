/**
 * Which first-stage binary (or script) a network-booting client should be offered, from what its
 * DHCP request says about it. Pure: the DHCP adapter extracts the facts, this decides.
 *
 * The chain is: firmware PXE (TFTP) or UEFI HTTP boot fetches an iPXE binary → iPXE asks DHCP
 * again, now announcing itself (user class `iPXE` / option 175) → it gets the HTTP boot script.
 * Recognising iPXE is what breaks the loop of iPXE chain-loading itself forever.
 *
 * Binary names (served over TFTP, and over HTTP under `<advertise>/assets/ipxe/`):
 * - `undionly.kpxe`   x86 BIOS
 * - `ipxe.efi`        x86-64 UEFI (also offered to 32-bit UEFI, which cannot run Talos anyway)
 * - `ipxe-arm64.efi`  arm64 UEFI (Debian ships no arm64 iPXE: build `bin-arm64-efi/ipxe.efi`
 *                     or `snp.efi` and install it under this name)
 */
import type { Arch } from '../types.js';

export type Firmware = 'pcbios' | 'efi';

export const IPXE_BIOS = 'undionly.kpxe';
export const IPXE_EFI_X64 = 'ipxe.efi';
export const IPXE_EFI_ARM64 = 'ipxe-arm64.efi';
export const BOOT_SCRIPT_PATH = '/boot.ipxe';
export const IPXE_HTTP_PATH = '/assets/ipxe/';

export interface BootClientFacts {
  /** Option 93, in the client's order of preference; may be empty (non-PXE clients). */
  archs: readonly number[];
  /** Option 60, e.g. `PXEClient:Arch:00007:UNDI:003000` or `HTTPClient:Arch:00016:…`. */
  vendorClass?: string;
  /** User class 77 contains `iPXE`, or option 175 is present. */
  isIpxe: boolean;
  /** Per-machine binary override from the registry, e.g. `snponly.efi` for picky UEFI NICs (applies to the firmware it fits). */
  override?: string;
}

export interface BootServerFacts {
  /** Base URL clients reach the HTTP server at, e.g. `http://10.0.0.1:8080` (no trailing slash needed). */
  advertiseUrl: string;
  /** Whether a TFTP server is running: BIOS and UEFI PXE can only fetch iPXE over TFTP. */
  tftp: boolean;
}

export type BootDecision =
  | {
      kind: 'tftp' | 'http' | 'ipxe-script';
      /** `file` / option 67: a TFTP file name, or an absolute URL for HTTP boot and iPXE. */
      bootFile: string;
      /** Set for UEFI HTTP boot: the reply must carry option 60 `HTTPClient` or firmware ignores it. */
      vendorClass?: 'HTTPClient';
      firmware: Firmware;
      arch: Arch;
    }
  | { kind: 'none'; reason: string; firmware?: Firmware; arch?: Arch };

interface ArchInfo {
  firmware: Firmware;
  arch: Arch;
  binary: string;
  http: boolean;
}

const ARCHES = new Map<number, ArchInfo>([
  [0, { firmware: 'pcbios', arch: 'amd64', binary: IPXE_BIOS, http: false }],
  [6, { firmware: 'efi', arch: 'amd64', binary: IPXE_EFI_X64, http: false }],
  [7, { firmware: 'efi', arch: 'amd64', binary: IPXE_EFI_X64, http: false }],
  [9, { firmware: 'efi', arch: 'amd64', binary: IPXE_EFI_X64, http: false }],
  [11, { firmware: 'efi', arch: 'arm64', binary: IPXE_EFI_ARM64, http: false }],
  [15, { firmware: 'efi', arch: 'amd64', binary: IPXE_EFI_X64, http: true }],
  [16, { firmware: 'efi', arch: 'amd64', binary: IPXE_EFI_X64, http: true }],
  [19, { firmware: 'efi', arch: 'arm64', binary: IPXE_EFI_ARM64, http: true }],
]);

/** Arch code from a PXE vendor class (`PXEClient:Arch:00007:…`), for clients that omit option 93. */
export function archFromVendorClass(vendorClass: string | undefined): number | undefined {
  const m = /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vendorClass ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * A machine's override is for the firmware its name fits: `*.efi` for UEFI, anything else
 * (`*.kpxe`, `*.pxe`, `*.0`) for BIOS. The same machine switched to legacy boot (CSM), or back,
 * then still gets a binary it can run rather than one its firmware rejects.
 */
function overrideFits(override: string | undefined, firmware: Firmware): string | undefined {
  const name = override?.trim();
  if (!name) return undefined;
  return name.toLowerCase().endsWith('.efi') === (firmware === 'efi') ? name : undefined;
}

export function decideBoot(client: BootClientFacts, server: BootServerFacts): BootDecision {
  const codes = client.archs.length > 0 ? client.archs : [archFromVendorClass(client.vendorClass)];
  const known = codes.map((c) => (c === undefined ? undefined : ARCHES.get(c))).find((a) => a !== undefined);
  const base = server.advertiseUrl.replace(/\/+$/, '');

  if (client.isIpxe) {
    // iPXE on any platform fetches the script itself; arch is informational here.
    return {
      kind: 'ipxe-script',
      bootFile: `${base}${BOOT_SCRIPT_PATH}`,
      firmware: known?.firmware ?? 'efi',
      arch: known?.arch ?? 'amd64',
    };
  }
  if (!known) {
    const shown = codes.filter((c) => c !== undefined).join(',');
    return { kind: 'none', reason: shown ? `unsupported client architecture ${shown}` : 'not a network-boot client' };
  }
  const binary = overrideFits(client.override, known.firmware) ?? known.binary;
  const httpClient = known.http || client.vendorClass?.startsWith('HTTPClient') === true;
  if (httpClient) {
    return {
      kind: 'http',
      bootFile: `${base}${IPXE_HTTP_PATH}${binary}`,
      vendorClass: 'HTTPClient',
      firmware: known.firmware,
      arch: known.arch,
    };
  }
  if (!server.tftp) {
    return { kind: 'none', reason: 'client needs TFTP, which is disabled', firmware: known.firmware, arch: known.arch };
  }
  return { kind: 'tftp', bootFile: binary, firmware: known.firmware, arch: known.arch };
}
