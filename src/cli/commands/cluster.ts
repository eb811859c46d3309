/** `metalboot cluster create|list|show|edit|delete` (edit: cluster-edit.ts). */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { schematicArgs } from '../../assets/cmdline.js';
import type { Arch, Cluster, Machine } from '../../core/types.js';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { collect, readPatch, readTextFile } from '../inputs.js';
import { age, formatFields, note, printJson, printTable } from '../output.js';
import { listAll } from '../pages.js';
import { addClusterEdit } from './cluster-edit.js';

interface CreateFlags {
  from: string;
  controlplane?: string;
  worker?: string;
  talosVersion: string;
  patch?: string[];
  kernelArg?: string[];
  schematic?: string;
  schematicArgs: boolean;
  arch: Arch;
  assetsDir: string;
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description(
    "Talos clusters: talosctl's base configs every machine is rendered from",
  );

  withClientOptions(
    cluster
      .command('create <name>')
      .description(
        "create a cluster from talosctl's controlplane.yaml and worker.yaml (`talosctl gen config <name> <endpoint>`)",
      ),
  )
    .option('--from <dir>', 'directory holding controlplane.yaml and worker.yaml', '.')
    .option('--controlplane <file>', 'control-plane config (default: <from>/controlplane.yaml)')
    .option('--worker <file>', 'worker config (default: <from>/worker.yaml)')
    .requiredOption('--talos-version <version>', 'Talos version the machines install, e.g. v1.13.9')
    .option(
      '--patch <patch>',
      'config patch for every machine, as for `talosctl --config-patch`: @file or inline YAML/JSON (repeatable)',
      collect,
    )
    .option('--kernel-arg <arg>', 'extra kernel argument (repeatable)', collect)
    .option(
      '--schematic <id>',
      'Image Factory schematic id; its cmdline-metal arguments (from `assets pull talos --schematic`) are adopted',
    )
    .option('--no-schematic-args', "with --schematic: do not adopt the schematic's kernel arguments")
    .addOption(
      new Option('--arch <arch>', 'CPU architecture of the machines').choices(['amd64', 'arm64']).default('amd64'),
    )
    .addOption(
      new Option('--assets-dir <dir>', 'where `assets pull` put the schematic cmdline')
        .env('METALBOOT_ASSETS_DIR')
        .default('assets'),
    )
    .action(async (name: string, o: CreateFlags, cmd: Command) => {
      const flags = clientFlags(cmd);
      const body = {
        name,
        talosVersion: o.talosVersion,
        controlplane: readTextFile(o.controlplane ?? join(o.from, 'controlplane.yaml'), 'control-plane config'),
        worker: readTextFile(o.worker ?? join(o.from, 'worker.yaml'), 'worker config'),
        patches: (o.patch ?? []).map(readPatch),
        kernelArgs: [...adoptedArgs(o), ...(o.kernelArg ?? [])],
        arch: o.arch,
        ...(o.schematic ? { schematic: o.schematic } : {}),
      };
      const api = ApiClient.fromFlags(flags);
      const created = await api
        .request<{ cluster: Cluster; warnings: string[] }>('POST', '/clusters', body)
        .catch((err: unknown) => {
          if (err instanceof CliError && err.exitCode === EXIT.conflict) {
            throw new CliError(
              err.message,
              EXIT.conflict,
              `pick another name, or \`metalboot cluster delete ${name}\` first`,
            );
          }
          throw err;
        });
      if (flags.output === 'json') return printJson(created);
      for (const w of created.warnings) note(`warning: ${w}`);
      const c = created.cluster;
      process.stdout.write(
        `cluster ${c.name} created: Talos ${c.talosVersion} ${c.arch}, endpoint ${c.endpoint ?? '-'}\n`,
      );
      note(`next: \`metalboot machine add <mac> --cluster ${c.name} --role controlplane --hostname <name>\``);
    });

  withClientOptions(cluster.command('list').description('clusters and how many machines each has')).action(
    async (_o: unknown, cmd: Command) => {
      const flags = clientFlags(cmd);
      const api = ApiClient.fromFlags(flags);
      const [clusters, machines] = await Promise.all([
        listAll<Cluster>((p) => api.get(p), '/clusters'),
        listAll<Machine>((p) => api.get(p), '/machines'),
      ]);
      if (flags.output === 'json') return printJson(clusters);
      const count = (name: string) => machines.filter((m) => m.cluster === name).length;
      printTable(
        ['NAME', 'TALOS', 'ARCH', 'SCHEMATIC', 'ENDPOINT', 'MACHINES', 'AGE'],
        clusters.map((c) => [
          c.name,
          c.talosVersion,
          c.arch,
          c.schematic?.slice(0, 12),
          c.endpoint,
          count(c.name),
          age(c.createdAt),
        ]),
        'no clusters yet: `metalboot cluster create <name> --talos-version <v>` in the directory of talosctl gen config',
      );
    },
  );

  withClientOptions(cluster.command('show <name>').description("a cluster's settings and machines")).action(
    async (name: string, _o: unknown, cmd: Command) => {
      const flags = clientFlags(cmd);
      const api = ApiClient.fromFlags(flags);
      const c = await api.get<Cluster>(`/clusters/${encodeURIComponent(name)}`).catch(hintNotFound(name));
      if (flags.output === 'json') return printJson(c);
      const machines = await listAll<Machine>((p) => api.get(p), `/machines?cluster=${encodeURIComponent(name)}`);
      const docs = (yaml: string) =>
        `${yaml.split(/^---\s*$/m).filter((d) => d.trim()).length} document(s), ${Buffer.byteLength(yaml)} bytes`;
      process.stdout.write(
        `${formatFields([
          ['name', c.name],
          ['talos version', c.talosVersion],
          ['arch', c.arch],
          ['endpoint', c.endpoint],
          ['schematic', c.schematic],
          ['kernel args', c.kernelArgs.join(' ')],
          ['controlplane', docs(c.controlplane)],
          ['worker', docs(c.worker)],
          ['patches', c.patches.length ? c.patches.map((p, i) => `${i}: ${firstLine(p)}`).join('\n') : ''],
          ['created', c.createdAt],
          ['updated', c.updatedAt],
        ])}\n\n`,
      );
      printTable(
        ['MAC', 'HOSTNAME', 'ROLE', 'STATE', 'IN STATE'],
        machines.map((m) => [m.mac, m.hostname, m.role, m.state, age(m.stateChangedAt)]),
        `no machines in ${c.name} yet`,
      );
    },
  );

  addClusterEdit(cluster);

  withClientOptions(cluster.command('delete <name>').description('delete a cluster that no machine uses')).action(
    async (name: string, _o: unknown, cmd: Command) => {
      const flags = clientFlags(cmd);
      const api = ApiClient.fromFlags(flags);
      await api.request('DELETE', `/clusters/${encodeURIComponent(name)}`).catch((err: unknown) => {
        if (err instanceof CliError && err.exitCode === EXIT.conflict) {
          throw new CliError(
            err.message,
            EXIT.conflict,
            `see them with \`metalboot machine list --cluster ${name}\`; move them (machine edit --cluster) or remove them (machine rm)`,
          );
        }
        return hintNotFound(name)(err);
      });
      if (flags.output === 'json') return printJson({ deleted: name });
      process.stdout.write(`cluster ${name} deleted\n`);
    },
  );

  return cluster;
}

/** `--schematic` with its pulled cmdline: the arguments the schematic adds to Talos's defaults. */
function adoptedArgs(o: CreateFlags): string[] {
  if (!o.schematic || !o.schematicArgs) return [];
  const found = schematicArgs(o.assetsDir, o.talosVersion, o.arch, o.schematic);
  if ('problem' in found) {
    note(`warning: no kernel arguments adopted from the schematic: ${found.problem}`);
    return [];
  }
  if (found.extra.length) note(`adopted the schematic's kernel arguments from ${found.file}: ${found.extra.join(' ')}`);
  if (found.dropped.length)
    note(
      `warning: the schematic drops ${found.dropped.join(' ')}, which metalboot always sends for Talos ${o.talosVersion}`,
    );
  return found.extra;
}

function hintNotFound(_name: string) {
  return (err: unknown): never => {
    if (err instanceof CliError && err.exitCode === EXIT.notFound)
      throw new CliError(err.message, EXIT.notFound, 'see the clusters with `metalboot cluster list`');
    throw err;
  };
}

const firstLine = (text: string) => {
  const line = text.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
};
