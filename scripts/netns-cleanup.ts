// Namespace cleanup shared by the tests' and the benchmark's network labs (test/helpers/netns.ts,
// bench/lib/netns.ts). Synchronous, so it also works in an 'exit' handler.
import { spawnSync } from 'node:child_process';

/** Kills whatever still runs inside `ns`, then deletes it. */
export function destroyNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5_000 }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
}

/**
 * Removes namespaces named `<prefix><pid>x…` whose creating process is gone (it died without
 * cleaning up, e.g. SIGKILL). Namespaces of live processes are left alone.
 */
export function sweepStale(prefix: string): void {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5_000 }).stdout ?? '';
  for (const line of out.split('\n')) {
    const match = new RegExp(`^(${prefix}(\\d+)x\\S*)`).exec(line);
    if (!match?.[1] || !match[2]) continue;
    let alive = true;
    try {
      process.kill(Number(match[2]), 0);
    } catch {
      alive = false;
    }
    if (!alive) destroyNamespace(match[1]);
  }
}

/** Signals a process group (children are spawned detached: their pid is the group id). */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
