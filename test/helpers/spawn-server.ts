import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ROOT } from './core-app.js';

export const CLI = join(ROOT, 'dist/cli/main.js');

/**
 * Tests keep Talos's listeners on loopback, on ports the kernel picks (parallel runs never collide),
 * and HTTP in one process (`--http-workers 1`, today's behaviour) unless a test asks for workers.
 */
export const TEST_LISTENERS = {
  METALBOOT_EVENTS_LISTEN: '127.0.0.1:0',
  METALBOOT_KMSG_LISTEN: '127.0.0.1:0',
  METALBOOT_HTTP_WORKERS: '1',
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Spawn the built CLI with its output collected. At teardown a process still running is killed by
 * pid (SIGKILL), or asked to stop (SIGTERM) and waited for.
 */
export function spawnCollecting(
  t: Test,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; stopSignal?: 'SIGKILL' | 'SIGTERM' } = {},
): ServerProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode !== null) return;
    child.kill(opts.stopSignal ?? 'SIGKILL');
    if (opts.stopSignal === 'SIGTERM') await exited;
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Wait (bounded) for the ready line of `metalboot serve`; fails with its output if it exits or times out. */
export async function waitReady(proc: ServerProcess, timeoutMs = 20_000): Promise<ServerProcess> {
  const deadline = Date.now() + timeoutMs;
  while (!/metalboot ready/.test(proc.stdout())) {
    const report = `stdout: ${proc.stdout()}\nstderr: ${proc.stderr()}`;
    if (proc.child.exitCode !== null) throw new Error(`metalboot exited with ${proc.child.exitCode}\n${report}`);
    if (Date.now() > deadline) throw new Error(`metalboot not ready within ${timeoutMs} ms\n${report}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return proc;
}

/**
 * Start the built CLI (`metalboot serve …`) as a user would, and wait (bounded) for its ready line.
 * The process is killed by pid at teardown.
 */
export async function startCli(
  t: Test,
  args: string[],
  env: Record<string, string> = {},
  readyTimeoutMs = 20_000,
): Promise<ServerProcess> {
  return waitReady(spawnCollecting(t, args, { ...process.env, ...TEST_LISTENERS, ...env }), readyTimeoutMs);
}
