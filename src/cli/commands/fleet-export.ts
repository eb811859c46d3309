/**
 * `metalboot export [--dir d | --include-secrets] [-o yaml|json]`: the registry as a fleet file,
 * such that `apply` of it changes nothing. The talosctl bases hold the cluster's secrets (CA keys,
 * tokens), so they go into files of their own (`--dir`) unless asked inline (`--include-secrets`);
 * BMC passwords never leave the server, and BMCs are not exported at all.
 */
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FleetExport } from '../../core/fleet/export.js';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { usageError } from '../errors.js';
import { note, printJson } from '../output.js';

interface ExportFlags {
  dir?: string;
  includeSecrets?: boolean;
}

const HEADER = `# metalboot fleet file (metalboot export). Not in it: BMCs (their passwords never leave the
# server; set them with \`metalboot machine bmc\`) and what machines report (state, installed).
`;

export function exportCommand(): Command {
  const cmd = withClientOptions(
    new Command('export').description('write the registry as a fleet file: `apply` of it changes nothing'),
  )
    .option('--dir <dir>', "write <dir>/fleet.yaml, and each cluster's talosctl bases as <dir>/<cluster>/*.yaml")
    .option('--include-secrets', "put the talosctl bases (the clusters' keys) inline in the fleet file")
    .action(async (o: ExportFlags, c: Command) => {
      const flags = clientFlags(c);
      const { documents } = await ApiClient.fromFlags(flags).get<FleetExport>('/export');
      const hasClusters = documents.some((d) => d.kind === 'Cluster');
      if (hasClusters && !o.dir && !o.includeSecrets)
        throw usageError(
          "the talosctl bases hold the clusters' keys: say where they go",
          '`--dir <dir>` writes them as files next to the fleet file; `--include-secrets` puts them inline',
        );
      if (o.dir) {
        for (const d of documents.filter((d) => d.kind === 'Cluster')) {
          mkdirSync(join(o.dir, String(d.name)), { recursive: true, mode: 0o700 });
          for (const role of ['controlplane', 'worker']) {
            const file = `${d.name}/${role}.yaml`;
            writeFileSync(join(o.dir, file), (d[role] as { inline: string }).inline, { mode: 0o600 });
            d[role] = { file };
          }
        }
      }
      const text =
        flags.output === 'json'
          ? `${JSON.stringify({ documents }, null, 2)}\n`
          : HEADER + documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
      if (!o.dir) {
        if (flags.output === 'json') return printJson({ documents });
        return void process.stdout.write(text);
      }
      const out = join(o.dir, flags.output === 'json' ? 'fleet.json' : 'fleet.yaml');
      writeFileSync(out, text, { mode: 0o600 });
      note(`wrote ${out} (${documents.length} documents); apply it with \`metalboot apply -f ${out}\``);
    });
  // Its own formats: a fleet file is YAML (or JSON), never a table.
  const output = cmd.options.find((opt) => opt.long === '--output')!;
  output.choices(['yaml', 'json']);
  output.description = 'yaml (a fleet file) or json';
  cmd.setOptionValueWithSource('output', 'yaml', 'default');
  return cmd;
}
