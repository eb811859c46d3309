// Where a server's CPU goes, native code included: SQLite's C, V8, the kernel's socket and file
// work — what a .cpuprofile cannot see. Reads `perf script` output of a server started with
// `node --perf-basic-prof` and sorts each sample into the first category any of its frames names.
//   perf record -e cpu-clock -F 1999 -g -p <pid> -o perf.data -- sleep 6
//   perf script -i perf.data > perf.txt
//   TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import bench/lib/perf-breakdown.ts perf.txt
import { readFileSync } from 'node:fs';

/** In priority order: a sample counts for the first category one of its frames matches. */
export const CATEGORIES: Array<[string, RegExp]> = [
  ['garbage collection', /Scavenger|MarkCompact|ConcurrentMarking|Heap::|GCTracer|Sweeper/],
  ['SQLite (statements, commits, WAL)', /sqlite3|better_sqlite3|better-sqlite3|wal[A-Z]|pcache/],
  ['access log (pino)', /pino|sonic-boom|request-log/],
  ['core: decisions, templates, tokens, render', /dist\/core|handlebars/],
  ['store (JS side)', /dist\/store/],
  ['metrics', /prom-client|dist\/metrics/],
  ['fastify (routing, validation, hooks, reply)', /fastify|find-my-way|avvio|fast-querystring|ajv/],
  ['node http + sockets', /_http_|llhttp|Parser::|node:net|stream_base|LibuvStreamWrap|uv__read|uv__write|tcp_/],
  ['event loop wait', /epoll|uv__io_poll/],
];

export interface Breakdown {
  samples: number;
  byThread: Record<string, number>;
  shares: Array<{ category: string; share: number }>;
}

export function breakdown(text: string): Breakdown {
  const samples: Array<{ thread: string; frames: string[] }> = [];
  let current: { thread: string; frames: string[] } | null = null;
  for (const line of text.split('\n')) {
    if (!line.trim()) {
      if (current) samples.push(current);
      current = null;
    } else if (!/^\s/.test(line)) current = { thread: line.trim().split(/\s+/)[0]!, frames: [] };
    else current?.frames.push(line.trim());
  }
  if (current) samples.push(current);
  const byThread: Record<string, number> = {};
  const counts = new Map<string, number>();
  for (const s of samples) {
    byThread[s.thread] = (byThread[s.thread] ?? 0) + 1;
    const main = s.thread === 'node' || s.thread === 'MainThread';
    const stack = s.frames.join('\n');
    const category = main
      ? (CATEGORIES.find(([, re]) => re.test(stack))?.[0] ?? 'other (main thread: allocator, compiler, scheduler)')
      : `thread ${s.thread}`;
    counts.set(category, (counts.get(category) ?? 0) + 1);
  }
  const shares = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([category, n]) => ({ category, share: n / Math.max(1, samples.length) }));
  return { samples: samples.length, byThread, shares };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const b = breakdown(readFileSync(process.argv[2]!, 'utf8'));
  console.log(`${b.samples} samples; threads ${JSON.stringify(b.byThread)}`);
  for (const { category, share } of b.shares) console.log(`${(share * 100).toFixed(1).padStart(6)} %  ${category}`);
}
