// HTTP GET as iPXE and Talos do it: one keep-alive connection per machine (iPXE), from the
// machine's own address. Large bodies are counted and dropped, small ones kept (scripts, configs).
import http from 'node:http';

export interface GetResult {
  status: number;
  bytes: number;
  /** The body as text when it is at most `keepBody` bytes. */
  body?: string;
  /** Time to first byte of the body (headers received), and total, in ms. */
  ttfbMs: number;
  ms: number;
  contentLength?: number;
}

export function machineAgent(localAddress: string): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
}

export function get(
  url: string,
  agent: http.Agent,
  opts: { keepBody?: number; idleTimeoutMs?: number; totalTimeoutMs?: number } = {},
): Promise<GetResult> {
  const keep = opts.keepBody ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(total);
      reject(err);
    };
    const req = http.get(url, { agent, headers: { 'user-agent': 'iPXE/1.21.1+ (bench)' } }, (res) => {
      const ttfbMs = performance.now() - started;
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes <= keep) chunks.push(c);
      });
      res.on('error', fail);
      res.on('aborted', () => fail(new Error(`${url}: response aborted after ${bytes} bytes`)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        const cl = res.headers['content-length'];
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          body: bytes <= keep ? Buffer.concat(chunks).toString('utf8') : undefined,
          ttfbMs,
          ms: performance.now() - started,
          contentLength: cl === undefined ? undefined : Number(cl),
        });
      });
    });
    req.setTimeout(opts.idleTimeoutMs ?? 30_000, () =>
      req.destroy(new Error(`${url}: idle for ${opts.idleTimeoutMs ?? 30_000} ms`)),
    );
    req.on('error', fail);
    const total = setTimeout(
      () => req.destroy(new Error(`${url}: not done after ${opts.totalTimeoutMs ?? 300_000} ms`)),
      opts.totalTimeoutMs ?? 300_000,
    );
  });
}
