/**
 * `metalboot cluster edit <name>`: change only the fields given. The API replaces a cluster whole
 * (PUT), so the CLI reads it first and sends it back with the flags applied, as `machine edit`
 * merges labels.
 */
import { type Command, Option } from 'commander';
import { join } from 'node:path';
import type { Cluster } from '../../core/types.js';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { collect, readPatch, readTextFile } from '../inputs.js';
import { note, printJson } from '../output.js';

interface EditFlags {
  from?: string;
  controlplane?: string;
  worker?: string;
  talosVersion?: string;
  patch?: string[];
  clearPatches?: boolean;
  kernelArg?: string[];
  clearKernelArgs?: boolean;
  schematic?: string | false;
  arch?: Cluster['arch'];
}

export function addClusterEdit(cluster: Command): void {
  withClientOptions(
    cluster.command('edit <name>').description("change a cluster's settings (only those given); its machines follow"),
  )
    .option('--from <dir>', 'new base configs: controlplane.yaml and worker.yaml from this directory')
    .option('--controlplane <file>', 'new control-plane config')
    .option('--worker <file>', 'new worker config')
    .option('--talos-version <version>', 'Talos version the machines install, e.g. v1.13.9')
    .option('--patch <patch>', 'config patch, @file or inline (repeatable; replaces all of its patches)', collect)
    .option('--clear-patches', 'remove all cluster patches')
    .option('--kernel-arg <arg>', 'extra kernel argument (repeatable; replaces all of them)', collect)
    .option('--clear-kernel-args', 'remove all extra kernel arguments')
    .option('--schematic <id>', 'Image Factory schematic id')
    .option('--no-schematic', 'boot the plain release files')
    .addOption(new Option('--arch <arch>', 'CPU architecture of the machines').choices(['amd64', 'arm64']))
    .action(async (name: string, o: EditFlags, cmd: Command) => {
      const flags = clientFlags(cmd);
      if (o.patch && o.clearPatches) throw usageError('give --patch or --clear-patches, not both');
      if (o.kernelArg && o.clearKernelArgs) throw usageError('give --kernel-arg or --clear-kernel-args, not both');
      // Read the files before asking the server: a typo in a path changes nothing.
      const controlplane = o.controlplane ?? (o.from ? join(o.from, 'controlplane.yaml') : undefined);
      const worker = o.worker ?? (o.from ? join(o.from, 'worker.yaml') : undefined);
      const change: Partial<Cluster> = {
        ...(controlplane ? { controlplane: readTextFile(controlplane, 'control-plane config') } : {}),
        ...(worker ? { worker: readTextFile(worker, 'worker config') } : {}),
        ...(o.talosVersion ? { talosVersion: o.talosVersion } : {}),
        ...(o.patch || o.clearPatches ? { patches: (o.patch ?? []).map(readPatch) } : {}),
        ...(o.kernelArg || o.clearKernelArgs ? { kernelArgs: o.kernelArg ?? [] } : {}),
        ...(o.schematic !== undefined ? { schematic: o.schematic || null } : {}),
        ...(o.arch ? { arch: o.arch } : {}),
      };
      if (Object.keys(change).length === 0)
        throw usageError(
          'nothing to change',
          `e.g. metalboot cluster edit ${name} --talos-version v1.13.9 (see --help)`,
        );
      const api = ApiClient.fromFlags(flags);
      const path = `/clusters/${encodeURIComponent(name)}`;
      const current = await api.get<Cluster>(path).catch(notFoundHint);
      const { createdAt: _c, updatedAt: _u, ...fields } = current;
      // The endpoint is read from the control-plane config: a new one brings its own.
      const body = { ...fields, ...change, ...(change.controlplane ? { endpoint: null } : {}) };
      const updated = await api
        .request<{ cluster: Cluster; warnings: string[] }>('PUT', path, body)
        .catch(notFoundHint);
      if (flags.output === 'json') return printJson(updated);
      for (const w of updated.warnings) note(`warning: ${w}`);
      process.stdout.write(`cluster ${updated.cluster.name} updated: ${Object.keys(change).join(', ')}\n`);
    });
}

function notFoundHint(err: unknown): never {
  if (err instanceof CliError && err.exitCode === EXIT.notFound)
    throw new CliError(err.message, EXIT.notFound, 'see the clusters with `metalboot cluster list`');
  throw err;
}
