/**
 * Running the built `metalboot` CLI (dist/cli/main.js) as a user would, against a real
 * `metalboot serve` the test starts on 127.0.0.1 with TFTP off.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ROOT } from './core-app.js';
import {
  CLI,
  TEST_LISTENERS,
  freePort,
  spawnCollecting,
  startCli,
  waitReady,
  type ServerProcess,
} from './spawn-server.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for the CLI: nothing inherited that could point it at a real server or token. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('METALBOOT_')));
  // These servers are booted from loopback, which no neighbour table or DHCP exchange ties to a
  // MAC: the tests that are about binding set METALBOOT_CONFIG_BINDING themselves.
  return { ...base, NO_COLOR: '1', ...TEST_LISTENERS, METALBOOT_CONFIG_BINDING: 'first-request', ...env };
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: opts.cwd ?? ROOT, env: cleanEnv(env), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A CLI process that keeps running (`machine events --follow`). */
export function spawnCli(t: Test, args: string[], env: Record<string, string> = {}): ServerProcess {
  return spawnCollecting(t, args, cleanEnv(env));
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Served {
  srv: ServerProcess;
  url: string;
  port: number;
  dir: string;
  dataDir: string;
  assetsDir: string;
  token: string;
  /** Environment that points the CLI at this server with its token. */
  env: Record<string, string>;
}

export const SERVE_TOKEN = 'cli-test-token-0123456789';

/** `metalboot serve` in a temp dir; extra args and env go to serve. */
export async function serve(
  t: Test,
  opts: { args?: string[]; env?: Record<string, string>; listenHost?: string; port?: number } = {},
): Promise<Served> {
  const dir = t.testdir({});
  const port = opts.port ?? (await freePort());
  const dataDir = join(dir, 'data');
  const assetsDir = join(dir, 'assets');
  const listenHost = opts.listenHost ?? '127.0.0.1';
  const srv = await startCli(
    t,
    ['serve', '--listen', `${listenHost}:${port}`, '--tftp-listen', 'off', ...(opts.args ?? [])],
    {
      METALBOOT_DATA_DIR: dataDir,
      METALBOOT_ASSETS_DIR: assetsDir,
      METALBOOT_API_TOKEN: SERVE_TOKEN,
      // Booted from loopback (ipxeBoot): see cleanEnv.
      METALBOOT_CONFIG_BINDING: 'first-request',
      ...opts.env,
    },
  );
  t.teardown(async () => {
    if (srv.child.exitCode === null) {
      srv.child.kill('SIGTERM');
      await srv.exited;
    }
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    srv,
    url,
    port,
    dir,
    dataDir,
    assetsDir,
    token: SERVE_TOKEN,
    env: { METALBOOT_SERVER: url, METALBOOT_API_TOKEN: SERVE_TOKEN },
  };
}

/** talosctl's v1.13 output (test keys) in a directory, as `talosctl gen config` leaves it. */
export function talosctlOutput(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['controlplane.yaml', 'worker.yaml'])
    copyFileSync(join(ROOT, 'test/fixtures/talos/examples/v1.13', f), join(dir, f));
  return dir;
}

/** What iPXE does: fetch the machine script (moves the machine along, records events). */
export async function ipxeBoot(url: string, mac: string): Promise<string> {
  const res = await fetch(`${url}/ipxe?mac=${mac}&arch=x86_64&platform=efi`);
  return res.text();
}

/** `metalboot serve` from a given working directory (for ./metalboot.yaml), waiting for its ready line. */
export async function serveIn(
  t: Test,
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return waitReady(spawnCollecting(t, ['serve', ...args], cleanEnv(env), { cwd, stopSignal: 'SIGTERM' }));
}
