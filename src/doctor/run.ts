/** `metalboot doctor` without --mac: every check, in the order a boot needs them. */
import { assetChecks } from './asset-checks.js';
import { databaseChecks } from './database-checks.js';
import { fileChecks } from './file-checks.js';
import { networkChecks } from './network-checks.js';
import { portChecks } from './port-checks.js';
import { machineChecks, serverChecks } from './server-checks.js';
import {
  limitsCheck,
  resolveDoctorSettings,
  workersCheck,
  type DoctorInputs,
  type DoctorSettings,
} from './settings.js';
import type { Check, CheckStatus, DoctorApi } from './types.js';

export interface DoctorReport {
  settings: DoctorSettings;
  checks: Check[];
  summary: Record<CheckStatus, number>;
}

export async function runDoctor(
  inputs: DoctorInputs,
  api: DoctorApi,
  opts: { tokenFromEnv: boolean },
): Promise<DoctorReport> {
  const { settings, checks } = resolveDoctorSettings(inputs);
  checks.push(limitsCheck(settings), workersCheck(settings));
  const server = await serverChecks(api);
  checks.push(...server.checks);
  checks.push(...(await databaseChecks({ database: inputs.database, dataDir: settings.dataDir })));
  checks.push(...(await portChecks(settings)));
  checks.push(...(await networkChecks(settings, server.up)));
  checks.push(...(await assetChecks(settings, server.clusters, server.machines, server.clusters ? api : undefined)));
  checks.push(...fileChecks(settings, opts.tokenFromEnv));
  checks.push(...machineChecks(server.machines));
  const summary: Record<CheckStatus, number> = { ok: 0, info: 0, warn: 0, fail: 0 };
  for (const c of checks) summary[c.status]++;
  return { settings, checks, summary };
}
