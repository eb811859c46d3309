/**
 * `metalboot apply -f fleet.yaml [--dry-run] [--prune]` and `metalboot diff -f fleet.yaml`: a fleet
 * file applied to the server's registry (POST /api/v1/apply). The files its `{file: …}` fields name
 * are read here, relative to the fleet file, and sent with it; the server checks everything.
 * `export` is in fleet-export.ts.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { FleetPlan } from '../../core/fleet/fleet-service.js';
import { fileReferences } from '../../core/fleet/kinds.js';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { usageError } from '../errors.js';
import { readTextFile } from '../inputs.js';
import { note, printJson } from '../output.js';

interface ApplyFlags {
  file: string;
  dryRun?: boolean;
  prune?: boolean;
}

export function applyCommand(): Command {
  return withClientOptions(
    new Command('apply').description(
      'make the registry match a fleet file (kind: Cluster, kind: Machine documents): prints the plan and what it did',
    ),
  )
    .requiredOption('-f, --file <file>', 'the fleet file (`-` reads stdin; {file: …} paths are then relative to .)')
    .option('--dry-run', 'print the plan, write nothing')
    .option('--prune', 'also delete the clusters and registered machines the file does not name')
    .action(async (o: ApplyFlags, cmd: Command) => {
      const plan = await sendFleet(cmd, o, o.dryRun ?? false);
      printPlan(plan, clientFlags(cmd).output);
    });
}

export function diffCommand(): Command {
  return withClientOptions(
    new Command('diff').description(
      'what `apply` would change (apply --dry-run): exit 0 when nothing, 1 when something would change',
    ),
  )
    .requiredOption('-f, --file <file>', 'the fleet file (`-` reads stdin)')
    .option('--prune', 'count what --prune would delete as changes too')
    .action(async (o: ApplyFlags, cmd: Command) => {
      const plan = await sendFleet(cmd, o, true);
      printPlan(plan, clientFlags(cmd).output);
      const { created, changed, deleted } = plan.summary;
      if (created + changed + deleted > 0) process.exitCode = 1;
    });
}

async function sendFleet(cmd: Command, o: ApplyFlags, dryRun: boolean): Promise<FleetPlan> {
  const text = o.file === '-' ? readFileSync(0, 'utf8') : readTextFile(o.file, 'fleet file');
  const base = o.file === '-' ? process.cwd() : dirname(resolve(o.file));
  const files: Record<string, string> = {};
  for (const ref of references(text)) {
    // One that cannot be read is left out: the server names it, with its document and line.
    try {
      files[ref] = readFileSync(resolve(base, ref), 'utf8');
    } catch (err) {
      if (!(err as NodeJS.ErrnoException).code) throw err;
    }
  }
  if (!text.trim()) throw usageError(`fleet file ${o.file} is empty`);
  return ApiClient.fromFlags(clientFlags(cmd)).request<FleetPlan>('POST', '/apply', {
    documents: text,
    source: o.file === '-' ? '<stdin>' : o.file,
    files,
    dryRun,
    prune: o.prune ?? false,
  });
}

/** The `{file: …}` paths of every document that parses (the server reports the ones that do not). */
function references(text: string): string[] {
  const refs = new Set<string>();
  for (const doc of parseAllDocuments(text)) {
    if (!('errors' in doc) || doc.errors.length) continue;
    const data = doc.toJS() as unknown;
    if (data && typeof data === 'object' && !Array.isArray(data))
      for (const ref of fileReferences(data as Record<string, unknown>)) refs.add(ref);
  }
  return [...refs];
}

const SIGN = { create: '+', update: '~', delete: '-', unchanged: '=' } as const;

function printPlan(plan: FleetPlan, output: string): void {
  for (const w of plan.warnings) note(`warning: ${w}`);
  if (output === 'json') return printJson(plan);
  for (const c of plan.changes) {
    if (c.op === 'unchanged') continue;
    process.stdout.write(`${SIGN[c.op]} ${c.kind} ${c.name}${c.fields?.length ? `: ${c.fields.join(', ')}` : ''}\n`);
  }
  const s = plan.summary;
  process.stdout.write(
    `${s.created} created, ${s.changed} changed, ${s.deleted} deleted, ${s.unchanged} unchanged${plan.dryRun ? ' (dry run: nothing written)' : ''}\n`,
  );
  const unmanaged = Object.entries(plan.unmanaged)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`);
  if (unmanaged.length)
    note(
      `the registry also holds ${unmanaged.join(' and ')} the file does not name (left alone; --prune deletes them)`,
    );
}
