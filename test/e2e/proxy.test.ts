/**
 * The same firmware paths in proxy mode: dnsmasq (another namespace on the same bridge) hands out
 * addresses only, metalboot answers as a ProxyDHCP server with the boot information. Ends with a
 * second boot of the installed BIOS machine, which must boot from its disk, not the installer.
 * See test/e2e/README.md.
 */
import t from 'tap';
import { IPXE_BIOS, IPXE_EFI, runE2e } from './helpers/suite.js';

const biosRom = { name: 'bios-ipxe-rom', firmware: 'bios', nicRom: true, mac: '52:54:00:e2:02:01' } as const;

await runE2e(t, 'proxy', 'proxy', '10.251.2', [
  { kind: 'install', case: biosRom },
  {
    kind: 'install',
    case: { name: 'bios-undionly', firmware: 'bios', nicRom: true, mac: '52:54:00:e2:02:02', tftpFile: IPXE_BIOS },
  },
  {
    kind: 'install',
    case: { name: 'uefi-pxe', firmware: 'uefi', nicRom: false, mac: '52:54:00:e2:02:03', tftpFile: IPXE_EFI },
  },
  { kind: 'install', case: { name: 'uefi-ipxe-rom', firmware: 'uefi', nicRom: true, mac: '52:54:00:e2:02:04' } },
  { kind: 'second-boot', case: biosRom },
]);
