/** `metalboot machine add|list|show|edit|rm|reimage|wake` (events: machine-events.ts; flags: machine-fields.ts). */
import { Command, Option } from 'commander';
import type { MachineProgressView } from '../../core/progress/machine-view.js';
import { MACHINE_STATES, type Machine, type MachineEvent } from '../../core/types.js';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { parseKeyValue } from '../inputs.js';
import { age, formatFields, note, printJson, printTable } from '../output.js';
import { bmcCommand } from './machine-bmc.js';
import { bootDeviceCommand, powerCommand } from './machine-power.js';
import { eventsCommand, formatEvent } from './machine-events.js';
import { listAll } from '../pages.js';
import { type FieldFlags, fieldOptions, fieldsBody } from './machine-fields.js';
import { firmware, progressFields } from './machine-format.js';

const path = (mac: string) => `/machines/${encodeURIComponent(mac)}`;

export function machineCommand(): Command {
  const machine = new Command('machine').description('machines: register, inspect, change, reimage, wake');

  const add = machine
    .command('add <mac>')
    .description('register a machine (or accept a discovered one) by MAC address');
  fieldOptions(add, false);
  withClientOptions(add).action(async (mac: string, o: FieldFlags, cmd: Command) => {
    const flags = clientFlags(cmd);
    const missing = (['hostname', 'role', 'cluster'] as const).filter((k) => !o[k]);
    if (missing.length)
      throw usageError(
        `machine add needs ${missing.map((k) => `--${k}`).join(', ')}`,
        `e.g. metalboot machine add ${mac} --hostname worker-1 --role worker --cluster prod`,
      );
    const api = ApiClient.fromFlags(flags);
    const m = await api.request<Machine>('POST', '/machines', { mac, ...fieldsBody(o) }).catch((err: unknown) => {
      if (err instanceof CliError && err.exitCode === EXIT.conflict && /already registered/.test(err.message)) {
        throw new CliError(err.message, EXIT.conflict, `change it with \`metalboot machine edit ${mac} …\``);
      }
      throw err;
    });
    if (flags.output === 'json') return printJson(m);
    process.stdout.write(`machine ${m.mac} (${m.hostname}) registered: ${m.role} of ${m.cluster}, state ${m.state}\n`);
    // Accepting a discovered MAC keeps its record: it was created before this registration.
    if (m.createdAt !== m.updatedAt)
      note(`it was discovered before; its timeline is kept (\`metalboot machine events ${m.mac}\`)`);
  });

  withClientOptions(
    machine
      .command('list')
      .description('machines with their state and how long they have been in it')
      .addOption(new Option('--state <state>', 'only machines in this state').choices([...MACHINE_STATES]))
      .option('--cluster <name>', 'only machines of this cluster')
      .option('--label <key=value>', 'only machines with this label')
      .option('--limit <n>', 'at most this many (default: all, read page by page)'),
  ).action(async (o: { state?: string; cluster?: string; label?: string; limit?: string }, cmd: Command) => {
    const flags = clientFlags(cmd);
    const q = new URLSearchParams();
    if (o.state) q.set('state', o.state);
    if (o.cluster) q.set('cluster', o.cluster);
    if (o.label) q.set('label', parseKeyValue(o.label, '--label').join('='));
    const max = o.limit === undefined ? undefined : Number(o.limit);
    if (max !== undefined && (!Number.isInteger(max) || max < 1))
      throw usageError(`--limit must be a positive whole number, got "${o.limit}"`);
    const api = ApiClient.fromFlags(flags);
    const machines = await listAll<Machine>((p) => api.get(p), `/machines${q.size ? `?${q}` : ''}`, max);
    if (flags.output === 'json') return printJson(machines);
    printTable(
      ['MAC', 'HOSTNAME', 'ROLE', 'CLUSTER', 'STATE', 'IN STATE', 'IP', 'FIRMWARE', 'LAST SEEN'],
      machines.map((m) => [
        m.mac,
        m.hostname,
        m.role,
        m.cluster,
        m.state,
        age(m.stateChangedAt),
        m.lastSeen.ip ?? m.ip,
        firmware(m),
        age(m.lastSeen.at),
      ]),
      q.size
        ? 'no machines match'
        : 'no machines yet: `metalboot machine add <mac> …`, or power one on to have it discovered',
    );
  });

  withClientOptions(
    machine.command('show <mac>').description("a machine's settings, where it is and why, and its latest events"),
  )
    .option('--events <n>', 'how many recent events to show', '10')
    .option('--log-lines <n>', 'how many kernel-log lines to show', '10')
    .action(async (mac: string, o: { events: string; logLines: string }, cmd: Command) => {
      const flags = clientFlags(cmd);
      const api = ApiClient.fromFlags(flags);
      const m = await api.get<Machine>(path(mac)).catch(hintUnknown);
      const n = Math.min(Math.max(0, Number(o.events) || 0), 200);
      // Where it is and why (Talos stage, unmet conditions, stall deadline, kernel log); older servers lack it.
      const progress = await api
        .get<MachineProgressView>(
          `${path(mac)}/progress?events=${n}&lines=${Math.min(Math.max(0, Number(o.logLines) || 0), 500)}`,
        )
        .catch(() => undefined);
      if (flags.output === 'json') return printJson(progress ? { ...m, progress } : m);
      const recent = progress
        ? progress.lastEvents
        : (await listAll<MachineEvent>((p) => api.get(p), `${path(mac)}/events`)).slice(-n);
      const selector = m.installDiskSelector;
      const disk =
        m.installDisk ??
        (selector
          ? typeof selector.match === 'string'
            ? `match ${selector.match}`
            : `selector ${JSON.stringify(selector)}`
          : null);
      process.stdout.write(
        `${formatFields([
          ['mac', m.mac],
          ['hostname', m.hostname],
          ['role', m.role],
          ['cluster', m.cluster],
          [
            'state',
            `${m.state} (for ${age(m.stateChangedAt)})${progress?.stalledIn ? `, stalled in ${progress.stalledIn}` : ''}`,
          ],
          ...progressFields(progress),
          ['installed', m.installed ? 'yes' : 'no'],
          ['reimage', m.reimage ? `requested ${m.reimage.requestedAt}, wipe ${m.reimage.wipe}` : null],
          ['install disk', disk],
          ['uuid', m.uuid],
          ['serial', m.serial],
          [
            'labels',
            Object.entries(m.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
          ],
          ['patches', m.patches.length ? `${m.patches.length}` : null],
          ['reserved ip', m.ip],
          ['boot file', m.bootFile],
          ['local boot', m.localBoot],
          [
            'last seen',
            m.lastSeen.at ? `${m.lastSeen.at} from ${m.lastSeen.ip ?? '?'} (${firmware(m) ?? '?'})` : 'never',
          ],
        ])}\n`,
      );
      if (recent.length)
        process.stdout.write(
          `\nrecent events (\`metalboot machine events ${m.mac} --follow\` for more):\n${recent.map((e) => `  ${formatEvent(e)}`).join('\n')}\n`,
        );
      if (progress?.kernelLog.length)
        process.stdout.write(
          `\nkernel log (latest):\n${progress.kernelLog.map((l) => `  ${l.talosTime ?? l.receivedAt}  ${l.msg}`).join('\n')}\n`,
        );
    });

  const edit = machine.command('edit <mac>').description("change a machine's fields (only those given)");
  fieldOptions(edit, true);
  withClientOptions(edit).action(
    async (mac: string, o: FieldFlags & { removeLabel?: string[]; clearPatches?: boolean }, cmd: Command) => {
      const flags = clientFlags(cmd);
      const api = ApiClient.fromFlags(flags);
      const current = o.label || o.removeLabel ? await api.get<Machine>(path(mac)).catch(hintUnknown) : undefined;
      const body = fieldsBody(o, current ? { ...current, removeLabel: o.removeLabel } : undefined);
      if (o.clearPatches) {
        if (o.patch) throw usageError('give --patch or --clear-patches, not both');
        body.patches = [];
      }
      if (Object.keys(body).length === 0)
        throw usageError('nothing to change', `e.g. metalboot machine edit ${mac} --hostname worker-2 (see --help)`);
      const m = await api.request<Machine>('PATCH', path(mac), body).catch(hintUnknown);
      if (flags.output === 'json') return printJson(m);
      process.stdout.write(`machine ${m.mac} updated: ${Object.keys(body).join(', ')}\n`);
    },
  );

  withClientOptions(
    machine
      .command('rm <mac>')
      .alias('delete')
      .description('remove a machine from the registry (its next boot is "discovered")'),
  ).action(async (mac: string, _o: unknown, cmd: Command) => {
    const flags = clientFlags(cmd);
    await ApiClient.fromFlags(flags).request('DELETE', path(mac)).catch(hintUnknown);
    if (flags.output === 'json') return printJson({ deleted: mac });
    process.stdout.write(`machine ${mac} removed\n`);
  });

  withClientOptions(
    machine.command('reimage <mac>').description('install Talos again on the next network boot (--cancel: never mind)'),
  )
    .addOption(
      new Option('--wipe <what>', 'system: STATE and EPHEMERAL partitions; disk: the whole install disk')
        .choices(['system', 'disk'])
        .default('system'),
    )
    .option('--cancel', 'withdraw a reimage request that has not started')
    .option('--power-cycle', "through the machine's BMC: boot from the network once, then power-cycle it (or on)")
    .action(async (mac: string, o: { wipe: string; cancel?: boolean; powerCycle?: boolean }, cmd: Command) => {
      const flags = clientFlags(cmd);
      const api = ApiClient.fromFlags(flags);
      if (o.cancel && o.powerCycle) throw usageError('--cancel and --power-cycle do not go together');
      const body = { wipe: o.wipe, ...(o.powerCycle ? { power: 'cycle' } : {}) };
      const m: Machine & { power?: { action: string; driver: string } } = o.cancel
        ? await api.request<Machine>('DELETE', `${path(mac)}/reimage`).catch(hintUnknown)
        : await api.request<Machine>('POST', `${path(mac)}/reimage`, body).catch(hintUnknown);
      if (flags.output === 'json') return printJson(m);
      if (o.cancel) return void process.stdout.write(`reimage of ${m.mac} canceled: state ${m.state}\n`);
      if (m.power)
        return void process.stdout.write(
          `reimage requested for ${m.mac} (wipe ${o.wipe}): PXE once and power ${m.power.action} via ${m.power.driver}; ` +
            `follow it: metalboot machine events ${m.mac} --follow\n`,
        );
      process.stdout.write(
        `reimage requested for ${m.mac} (wipe ${o.wipe}): reboot it from the network (\`metalboot machine wake ${m.mac}\` if it is off)\n`,
      );
    });

  withClientOptions(
    machine
      .command('wake <mac>')
      .description('power the machine on (Wake-on-LAN or its BMC, as the server is configured)'),
  ).action(async (mac: string, _o: unknown, cmd: Command) => {
    const flags = clientFlags(cmd);
    const r = await ApiClient.fromFlags(flags)
      .request<{ driver?: unknown; detail?: Record<string, unknown> } | undefined>('POST', `${path(mac)}/power`, {
        action: 'on',
      })
      .catch((err: unknown) => {
        if (err instanceof CliError && err.exitCode === EXIT.conflict && /not configured/.test(err.message)) {
          throw new CliError(
            err.message,
            EXIT.conflict,
            'power the machine on by hand (or via its BMC), or configure power control on the server',
          );
        }
        return hintUnknown(err);
      });
    if (flags.output === 'json') return printJson(r ?? { mac, action: 'on' });
    // The server answers {driver, detail} (e.g. where the Wake-on-LAN packet went).
    const detail =
      r?.detail && typeof r.detail === 'object'
        ? Object.entries(r.detail)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : '';
    const via = typeof r?.driver === 'string' ? ` via ${r.driver}${detail ? ` (${detail})` : ''}` : '';
    process.stdout.write(
      `power on sent to ${mac}${via}; its timeline shows whether it boots (\`metalboot machine events ${mac} --follow\`)\n`,
    );
  });

  machine.addCommand(eventsCommand());
  machine.addCommand(bmcCommand());
  machine.addCommand(powerCommand());
  machine.addCommand(bootDeviceCommand());
  return machine;
}

export function hintUnknown(err: unknown): never {
  // A hint already given (an unknown cluster: see client.ts) is the better one.
  if (err instanceof CliError && err.exitCode === EXIT.notFound && !err.hint) {
    throw new CliError(
      err.message,
      EXIT.notFound,
      'see the machines with `metalboot machine list` (discovered ones too), add one with `metalboot machine add`',
    );
  }
  throw err;
}
