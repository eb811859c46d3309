/**
 * The Redfish emulator for tap tests: `startRedfishEmulator(t)` makes a self-signed certificate in
 * the test's directory, listens on 127.0.0.1 on an ephemeral port, and closes at teardown.
 */
import { spawnSync } from 'node:child_process';
import type { Test } from 'tap';
import { makeTestCert, type TestCert } from './cert.js';
import { listen } from './server.js';
import { type EmulatorState, newState, type SystemState } from './state.js';

export { makeTestCert, type TestCert } from './cert.js';
export type { EmulatorState, Knobs, SystemState } from './state.js';

export const EMU_ADMIN = { username: 'admin', password: 'rf-Secr3t-pw' };

export interface RedfishEmulator {
  port: number;
  /** `127.0.0.1:<port>` */
  address: string;
  /** `https://127.0.0.1:<port>` */
  url: string;
  cert: TestCert;
  state: EmulatorState;
  /** The one system, or the one with this Id. */
  system(id?: string): SystemState;
  close(): Promise<void>;
}

/** What is missing to run the emulator (the openssl CLI), or undefined. */
export function missingOpenssl(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v openssl']).status === 0 ? undefined : 'needs openssl (Debian openssl)';
}

export async function startRedfishEmulator(
  t: Test,
  opts: { systems?: string[]; cert?: TestCert } = {},
): Promise<RedfishEmulator> {
  const cert = opts.cert ?? makeTestCert(t.testdir());
  const state = newState({ ...EMU_ADMIN, systems: opts.systems });
  const running = await listen(state, cert);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await running.close();
  };
  t.teardown(close);
  return {
    port: running.port,
    address: `127.0.0.1:${running.port}`,
    url: `https://127.0.0.1:${running.port}`,
    cert,
    state,
    system(id?: string) {
      const sys = id === undefined ? state.systems[0] : state.systems.find((s) => s.id === id);
      if (!sys) throw new Error(`no system ${id}`);
      return sys;
    },
    close,
  };
}
