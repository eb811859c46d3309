/** The flags that set a machine's fields (`machine add` and `edit`) and the API body built from them. */
import { type Command, Option } from 'commander';
import type { Machine } from '../../core/types.js';
import { usageError } from '../errors.js';
import { collect, parseDiskSelector, parseKeyValue, readPatch } from '../inputs.js';

export interface FieldFlags {
  hostname?: string;
  role?: string;
  cluster?: string;
  installDisk?: string | false;
  diskSelector?: string;
  diskMatch?: string;
  uuid?: string | false;
  serial?: string | false;
  label?: string[];
  patch?: string[];
  ip?: string | false;
  bootFile?: string | false;
  localBoot?: string;
  installed?: boolean;
}

/** Options that set a machine's fields; `add` and `edit` share them. */
export function fieldOptions(cmd: Command, edit: boolean): Command {
  const idHelp = edit ? ' (--no-… clears it)' : '';
  cmd
    .option('--hostname <name>', 'host name (RFC 1123)')
    .addOption(new Option('--role <role>', 'Talos machine type').choices(['controlplane', 'worker']))
    .option('--cluster <name>', 'cluster to install from')
    .option('--install-disk <path>', `disk Talos installs to, e.g. /dev/sda${idHelp}`)
    .option(
      '--disk-selector <yaml>',
      'Talos diskSelector instead of a path: YAML/JSON or @file, e.g. \'{size: ">= 100GB"}\'',
    )
    .option(
      '--disk-match <cel>',
      'Talos ≥ v1.14: a CEL expression over the disk instead, e.g. \'disk.size >= 100u * GB && disk.transport == "nvme"\'',
    )
    .option('--uuid <uuid>', `SMBIOS UUID${idHelp}`)
    .option('--serial <serial>', `serial number${idHelp}`)
    .option('--label <key=value>', 'label (repeatable)', collect)
    .option(
      '--patch <patch>',
      `machine config patch: @file or inline (repeatable${edit ? '; replaces all of its patches' : ''})`,
      collect,
    )
    .option('--ip <ip>', `address reserved in authoritative DHCP mode${idHelp}`)
    .option('--boot-file <file>', `iPXE binary override, e.g. snponly.efi${idHelp}`)
    .addOption(
      new Option(
        '--local-boot <method>',
        "how an installed machine leaves iPXE for its disk ('sanboot' for firmware where 'exit' does not)",
      ).choices(['exit', 'sanboot']),
    )
    .option('--installed', 'Talos is already on the disk: boot it from disk');
  if (edit) {
    cmd
      .option('--no-install-disk', 'clear the install disk or selector')
      .option('--no-uuid', 'clear the UUID')
      .option('--no-serial', 'clear the serial number')
      .option('--no-ip', 'clear the reservation')
      .option('--no-boot-file', 'use the default iPXE binary')
      .option('--no-installed', 'not installed: the next network boot installs Talos')
      .option('--remove-label <key>', 'remove a label (repeatable)', collect)
      .option('--clear-patches', 'remove all machine patches');
  }
  return cmd;
}

/** The API body for `machine add`/`edit` flags (exported for tests). */
export function fieldsBody(o: FieldFlags, current?: Machine & { removeLabel?: string[] }): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => {
    if (v !== undefined) body[k] = v === false ? null : v;
  };
  set('hostname', o.hostname);
  set('role', o.role);
  set('cluster', o.cluster);
  const diskFlags = [o.installDisk, o.diskSelector, o.diskMatch].filter((v) => v !== undefined).length;
  if (diskFlags > 1) throw usageError('give one of --install-disk, --disk-selector and --disk-match');
  const disk =
    o.diskSelector !== undefined
      ? parseDiskSelector(o.diskSelector)
      : o.diskMatch !== undefined
        ? { match: o.diskMatch }
        : o.installDisk;
  set('installDisk', disk);
  set('uuid', o.uuid);
  set('serial', o.serial);
  set('ip', o.ip);
  set('bootFile', o.bootFile);
  set('localBoot', o.localBoot);
  if (o.installed !== undefined) body.installed = o.installed;
  if (o.patch) body.patches = o.patch.map(readPatch);
  if (o.label || current?.removeLabel) {
    // The API replaces the whole map; edit merges into what the machine has.
    const labels: Record<string, string> = { ...(current?.labels ?? {}) };
    for (const l of o.label ?? []) {
      const [k, v] = parseKeyValue(l, '--label');
      labels[k] = v;
    }
    for (const k of current?.removeLabel ?? []) delete labels[k];
    body.labels = labels;
  }
  return body;
}
