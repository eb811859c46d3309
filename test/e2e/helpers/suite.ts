/** The common frame of the e2e test files: prerequisites, stand-in, lab, scenarios, timing table. */
import type { Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureStandin, requirePrerequisites, TALOS_V14_VERSION, TALOS_VERSION } from './env.js';
import { type DhcpMode, Lab } from './lab.js';
import { timingTable } from './report.js';
import { type BootCase, Suite, talosExample, V14_CLUSTER } from './scenarios.js';

export type Step = { kind: 'install' | 'second-boot' | 'discovery'; case: BootCase };

export const IPXE_BIOS = 'undionly.kpxe';
export const IPXE_EFI = 'ipxe.efi';

export async function runE2e(t: Test, name: string, mode: DhcpMode, subnet: string, steps: Step[]): Promise<void> {
  // Bounded as a whole: each VM has its own limit; this is the backstop (tap's default is 300 s).
  t.setTimeout(30 * 60_000);
  if (!requirePrerequisites(t)) return;
  const artifacts = join(process.env.METALBOOT_E2E_ARTIFACTS ?? join(tmpdir(), 'metalboot-e2e'), name);
  mkdirSync(artifacts, { recursive: true });

  const standin = await ensureStandin();
  t.comment(`stand-in Talos: ${standin.kernelPackage} + busybox initramfs (${standin.dir}); artifacts in ${artifacts}`);
  const chainUndionlyMacs = steps
    .filter((s) => s.kind === 'install' && s.case.name === 'bios-undionly')
    .map((s) => s.case.mac);
  const lab = await Lab.create(t, { name, mode, subnet, artifacts, standin, chainUndionlyMacs });
  await lab.createCluster({
    name: 'e2e',
    talosVersion: TALOS_VERSION,
    controlplane: talosExample('v1.13', 'controlplane.yaml'),
    worker: talosExample('v1.13', 'worker.yaml'),
  });
  if (steps.some((s) => s.case.cluster === V14_CLUSTER.name)) {
    await lab.createCluster({
      ...V14_CLUSTER,
      talosVersion: TALOS_V14_VERSION,
      controlplane: talosExample('v1.14', 'controlplane.yaml'),
      worker: talosExample('v1.14', 'worker.yaml'),
    });
  }
  const suite = new Suite(lab);

  for (const step of steps) {
    const title =
      step.kind === 'install'
        ? `${step.case.name} (${mode})`
        : step.kind === 'second-boot'
          ? `${step.case.name} second boot (${mode})`
          : `unknown MAC (${mode})`;
    await t.test(title, async (st) => {
      if (step.kind === 'install') await suite.install(st, step.case);
      else if (step.kind === 'second-boot') await suite.secondBoot(st, step.case);
      else await suite.discovery(st, step.case);
    });
    t.ok(lab.metalbootAlive(), `metalboot still running after ${title}`);
  }

  const table = timingTable(suite.rows);
  writeFileSync(join(artifacts, 'timings.md'), `${table}\n`);
  t.comment(`seconds from power-on to each step, as metalboot's timeline recorded it (${mode}):\n${table}`);
}
