/**
 * Real firmware network-boots through metalboot alone, in authoritative mode (metalboot hands out
 * the addresses): SeaBIOS + iPXE ROM, SeaBIOS ROM → undionly.kpxe over TFTP, OVMF's own PXE →
 * ipxe.efi over TFTP, OVMF + iPXE EFI ROM — each installs the stand-in Talos —, a second boot of
 * the installed BIOS machine (boots its disk, not the installer), a UEFI machine of a Talos v1.14
 * cluster (installs as v1.14 does, then boots its disk), and a MAC nobody registered, which must be
 * discovered and install nothing. See test/e2e/README.md.
 */
import t from 'tap';
import { V14_CLUSTER } from './helpers/scenarios.js';
import { IPXE_BIOS, IPXE_EFI, runE2e } from './helpers/suite.js';

// A whitebox board's SMBIOS serial, spaces and all: it travels in the /ipxe query string.
const biosRom = {
  name: 'bios-ipxe-rom',
  firmware: 'bios',
  nicRom: true,
  mac: '52:54:00:e2:01:01',
  serial: 'To Be Filled By O.E.M.',
} as const;
// A Talos v1.14 machine: installs from its UnattendedInstallConfig, reports on the kernel log only.
const uefiV14 = {
  name: 'uefi-v1.14',
  firmware: 'uefi',
  nicRom: true,
  mac: '52:54:00:e2:01:14',
  cluster: V14_CLUSTER.name,
} as const;

await runE2e(t, 'authoritative', 'authoritative', '10.251.1', [
  { kind: 'install', case: biosRom },
  {
    kind: 'install',
    case: { name: 'bios-undionly', firmware: 'bios', nicRom: true, mac: '52:54:00:e2:01:02', tftpFile: IPXE_BIOS },
  },
  {
    kind: 'install',
    case: { name: 'uefi-pxe', firmware: 'uefi', nicRom: false, mac: '52:54:00:e2:01:03', tftpFile: IPXE_EFI },
  },
  { kind: 'install', case: { name: 'uefi-ipxe-rom', firmware: 'uefi', nicRom: true, mac: '52:54:00:e2:01:04' } },
  { kind: 'second-boot', case: biosRom },
  { kind: 'install', case: uefiV14 },
  { kind: 'second-boot', case: uefiV14 },
  { kind: 'discovery', case: { name: 'unknown-mac', firmware: 'bios', nicRom: true, mac: '52:54:00:e2:01:0f' } },
]);
