import t from 'tap';
import { archFromVendorClass, decideBoot } from '../../src/core/boot/boot-file.js';

const server = { advertiseUrl: 'http://10.0.0.1:8080/', tftp: true };

t.test('firmware PXE gets the iPXE binary for its architecture over TFTP', async (t) => {
  t.match(decideBoot({ archs: [0], isIpxe: false }, server), {
    kind: 'tftp',
    bootFile: 'undionly.kpxe',
    firmware: 'pcbios',
    arch: 'amd64',
  });
  for (const a of [6, 7, 9]) {
    t.match(
      decideBoot({ archs: [a], isIpxe: false }, server),
      { kind: 'tftp', bootFile: 'ipxe.efi', firmware: 'efi', arch: 'amd64' },
      `arch ${a}`,
    );
  }
  t.match(decideBoot({ archs: [11], isIpxe: false }, server), {
    kind: 'tftp',
    bootFile: 'ipxe-arm64.efi',
    arch: 'arm64',
  });
  t.match(
    decideBoot({ archs: [2, 7], isIpxe: false }, server),
    { bootFile: 'ipxe.efi' },
    'first supported arch of the list',
  );
  t.match(decideBoot({ archs: [7], isIpxe: false, override: 'snponly.efi' }, server), { bootFile: 'snponly.efi' });
  t.match(
    decideBoot({ archs: [0], isIpxe: false, override: 'snponly.efi' }, server),
    { bootFile: 'undionly.kpxe', firmware: 'pcbios' },
    'an EFI override does not reach the same machine booting BIOS',
  );
  t.match(
    decideBoot({ archs: [0], isIpxe: false, override: 'undionly.kkpxe' }, server),
    { bootFile: 'undionly.kkpxe' },
    'a BIOS override for BIOS',
  );
  t.match(
    decideBoot({ archs: [7], isIpxe: false, override: 'undionly.kkpxe' }, server),
    { bootFile: 'ipxe.efi' },
    'nor a BIOS override UEFI',
  );
  t.match(
    decideBoot({ archs: [16], isIpxe: false, override: 'SNPONLY.EFI' }, server),
    { kind: 'http', bootFile: 'http://10.0.0.1:8080/assets/ipxe/SNPONLY.EFI' },
    'UEFI HTTP boot takes it too',
  );
});

t.test('UEFI HTTP boot gets a URL and vendor class HTTPClient', async (t) => {
  t.same(decideBoot({ archs: [16], isIpxe: false }, server), {
    kind: 'http',
    bootFile: 'http://10.0.0.1:8080/assets/ipxe/ipxe.efi',
    vendorClass: 'HTTPClient',
    firmware: 'efi',
    arch: 'amd64',
  });
  t.match(decideBoot({ archs: [19], isIpxe: false }, server), {
    bootFile: 'http://10.0.0.1:8080/assets/ipxe/ipxe-arm64.efi',
    arch: 'arm64',
  });
  t.match(decideBoot({ archs: [], vendorClass: 'HTTPClient:Arch:00016:UNDI:003000', isIpxe: false }, server), {
    kind: 'http',
  });
  t.match(
    decideBoot({ archs: [16], isIpxe: false }, { ...server, tftp: false }),
    { kind: 'http' },
    'HTTP boot needs no TFTP',
  );
});

t.test('iPXE gets the boot script (breaks the chainload loop)', async (t) => {
  t.match(decideBoot({ archs: [0], isIpxe: true }, server), {
    kind: 'ipxe-script',
    bootFile: 'http://10.0.0.1:8080/boot.ipxe',
    firmware: 'pcbios',
  });
  t.match(decideBoot({ archs: [7], isIpxe: true, override: 'snponly.efi' }, server), {
    bootFile: 'http://10.0.0.1:8080/boot.ipxe',
    firmware: 'efi',
  });
  t.match(decideBoot({ archs: [], isIpxe: true }, server), { kind: 'ipxe-script' });
});

t.test('nothing to offer', async (t) => {
  t.match(decideBoot({ archs: [], isIpxe: false }, server), { kind: 'none', reason: /not a network-boot client/ });
  t.match(decideBoot({ archs: [10], isIpxe: false }, server), {
    kind: 'none',
    reason: /unsupported client architecture 10/,
  });
  t.match(decideBoot({ archs: [7], isIpxe: false }, { ...server, tftp: false }), {
    kind: 'none',
    reason: /TFTP/,
    firmware: 'efi',
  });
  t.equal(archFromVendorClass('PXEClient:Arch:00007:UNDI:003000'), 7);
  t.equal(archFromVendorClass('udhcp 1.35.0'), undefined);
  t.match(decideBoot({ archs: [], vendorClass: 'PXEClient:Arch:00000:UNDI:002001', isIpxe: false }, server), {
    bootFile: 'undionly.kpxe',
  });
});
