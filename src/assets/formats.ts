/**
 * Cheap "is this really a kernel?" checks for files that come without a published checksum
 * (Image Factory, iPXE mirrors). They exist to catch the common failure of a misconfigured mirror
 * or proxy answering 200 with an HTML or JSON error page, not to validate the binaries.
 */
import { open } from 'node:fs/promises';

export type AssetFormat = 'kernel' | 'initramfs' | 'efi' | 'any';

const at = (b: Buffer, offset: number, magic: number[] | string) => {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : Buffer.from(magic);
  return b.length >= offset + m.length && b.subarray(offset, offset + m.length).equals(m);
};

/** What a file of this kind may start with; undefined when it looks right. */
export function formatProblem(head: Buffer, format: AssetFormat): string | undefined {
  if (head.length === 0) return 'the file is empty';
  switch (format) {
    case 'kernel':
      // EFI stub (x86 bzImage and arm64 Image/zboot start with "MZ"), x86 boot header, arm64 Image header.
      if (at(head, 0, 'MZ') || at(head, 0x202, 'HdrS') || at(head, 0x38, 'ARMd')) return undefined;
      return 'it does not start like a Linux kernel (no EFI "MZ", x86 "HdrS" or arm64 "ARMd" header)';
    case 'initramfs':
      // Talos has shipped xz and zstd; accept the usual compressors and a bare cpio.
      if (
        at(head, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) ||
        at(head, 0, [0x28, 0xb5, 0x2f, 0xfd]) ||
        at(head, 0, [0x1f, 0x8b]) ||
        at(head, 0, '0707')
      )
        return undefined;
      return 'it is not an xz, zstd or gzip archive or a cpio archive';
    case 'efi':
      return at(head, 0, 'MZ') ? undefined : 'it is not an EFI executable (no "MZ" header)';
    default:
      return undefined;
  }
}

export async function fileFormatProblem(file: string, format: AssetFormat): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(0x240);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return formatProblem(head.subarray(0, bytesRead), format);
  } finally {
    await fh.close();
  }
}
