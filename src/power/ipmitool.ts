import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';

/** The shape of `child_process.spawn` the runner needs; tests pass a wrapper to see what is spawned. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The run outlived its time and the child was killed (by pid, SIGKILL). */
  timedOut: boolean;
  /** The program could not be started (e.g. ENOENT). */
  spawnError?: Error;
}

export interface RunOptions {
  /** Extra environment variables (the password goes here, never into argv). */
  env: Record<string, string>;
  timeoutMs: number;
  spawn?: SpawnFn;
}

/**
 * Runs one process with a hard time limit and collects its output. Never rejects: a failure to start,
 * a non-zero exit and a timeout are all results. The child's environment is PATH, a C locale (so the
 * output we parse is the English one) and `env`; nothing else of ours is passed on.
 */
export function runProcess(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const spawn = opts.spawn ?? nodeSpawn;
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    const finish = (r: Omit<RunResult, 'stdout' | 'stderr' | 'timedOut'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ...r, stdout, stderr, timedOut });
    };
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve({ code: null, stdout, stderr, timedOut, spawnError: err as Error });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // Do not wait for the pipes: a grandchild holding them must not turn a timeout into a hang.
      finish({ code: null });
    }, opts.timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 65536) stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    child.once('error', (err) => finish({ code: null, spawnError: err }));
    child.once('close', (code) => finish({ code }));
  });
}
