/**
 * A local HTTP server that mimics the upstream asset layouts, so `assets pull` is tested without
 * the internet: the GitHub release (`/release/<v>/…` + sha512sum.txt), Image Factory
 * (`/factory/image/<schematic>/<v>/kernel-<arch>`…), the Talos source tree for the schema
 * (`/raw/<v>/pkg/machinery/config/schemas/config.schema.json`) and an iPXE directory (`/ipxe/…`).
 * It honours Range and If-Range like GitHub's CDN, records every request, and can cut a response
 * short once to simulate a dropped connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ROOT } from './core-app.js';

export const VERSION = 'v1.13.9';
export const SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba';
export const FACTORY_CMDLINE =
  'talos.platform=metal console=tty0 init_on_alloc=1 slab_nomerge pti=on consoleblank=0 nvme_core.io_timeout=4294967295 printk.devkmsg=on selinux=1 module.sig_enforce=1 proc_mem.force_override=never net.ifnames=0 talos.dashboard.disabled=1';

/** A file that passes the kernel format check: EFI "MZ" and the x86 "HdrS" boot header. */
export function fakeKernel(size: number): Buffer {
  const b = randomBytes(size);
  b.write('MZ', 0, 'latin1');
  b.write('HdrS', 0x202, 'latin1');
  return b;
}

export function fakeInitramfs(size: number): Buffer {
  const b = randomBytes(size);
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]).copy(b, 0);
  return b;
}

export const fakeEfi = (size: number) => Buffer.concat([Buffer.from('MZ'), randomBytes(size - 2)]);

export const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex');

export interface Mirror {
  url: string;
  files: Map<string, Buffer>;
  requests: Array<{ method: string; path: string; range?: string; ifRange?: string }>;
  /** Cut the next GET of `path` after `bytes` bytes (once). */
  interruptOnce(path: string, bytes: number): void;
  /** Replace a file (changes its ETag). */
  put(path: string, body: Buffer | string): void;
  close(): Promise<void>;
}

export async function startMirror(t: Test, opts: { kernelBytes?: number } = {}): Promise<Mirror> {
  const files = new Map<string, Buffer>();
  const put = (path: string, body: Buffer | string) =>
    files.set(path, Buffer.isBuffer(body) ? body : Buffer.from(body));
  const kernelBytes = opts.kernelBytes ?? 256 * 1024;
  const release: Record<string, Buffer> = {};
  for (const arch of ['amd64', 'arm64']) {
    release[`vmlinuz-${arch}`] = fakeKernel(kernelBytes);
    release[`initramfs-${arch}.xz`] = fakeInitramfs(kernelBytes * 2);
    put(`/factory/image/${SCHEMATIC}/${VERSION}/kernel-${arch}`, fakeKernel(kernelBytes));
    put(`/factory/image/${SCHEMATIC}/${VERSION}/initramfs-${arch}.xz`, fakeInitramfs(kernelBytes));
    put(`/factory/image/${SCHEMATIC}/${VERSION}/cmdline-metal-${arch}`, `${FACTORY_CMDLINE}\n`);
  }
  for (const [name, body] of Object.entries(release)) put(`/release/${VERSION}/${name}`, body);
  // Like the real one: more files than we fetch, two spaces between sum and name.
  const sums = Object.entries({ ...release, 'talos-amd64.iso': Buffer.from('iso') }).map(
    ([n, b]) => `${sha512(b)}  ${n}`,
  );
  put(`/release/${VERSION}/sha512sum.txt`, `${sums.join('\n')}\n`);
  put(
    `/raw/${VERSION}/pkg/machinery/config/schemas/config.schema.json`,
    readFileSync(join(ROOT, 'test/fixtures/talos/config.schema.v1.13.json')),
  );
  put('/ipxe/undionly.kpxe', randomBytes(4096));
  put('/ipxe/ipxe.efi', fakeEfi(8192));
  put('/ipxe/snponly.efi', fakeEfi(8192));

  const requests: Mirror['requests'] = [];
  const interruptions = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({
      method: req.method ?? '',
      path,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
    });
    const body = files.get(path);
    if (!body || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    const etag = `"${sha512(body).slice(0, 16)}"`;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    let start = 0;
    let end = body.length - 1;
    let status = 200;
    if (range && (!ifRange || ifRange === etag)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
    }
    const headers: Record<string, string | number> = {
      etag,
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
      'content-type': 'application/octet-stream',
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    const cut = interruptions.get(path);
    if (cut !== undefined) {
      interruptions.delete(path);
      // The bytes, a pause, then a FIN mid-body. fetch (undici) drops what it still holds when the
      // connection ends, so the pause lets the client take the bytes first (the test only needs
      // some of them kept, never more than were sent).
      res.write(body.subarray(start, start + cut), () => setTimeout(() => res.socket?.end(), 300));
      return;
    }
    res.end(body.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  t.teardown(() => {
    server.closeAllConnections();
    return close();
  });
  return { url, files, requests, put, interruptOnce: (path, bytes) => interruptions.set(path, bytes), close };
}
