// `metalboot machine power <mac> on|off|cycle|reset|soft|status`, `machine power on --label k=v --stagger 5s`,
// `metalboot machine boot-device <mac> pxe|disk [--persistent]`: a machine's power through its BMC.
import { Command, Option } from 'commander';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { printJson } from '../output.js';

const ACTIONS = ['on', 'off', 'cycle', 'reset', 'soft'] as const;
const path = (mac: string) => `/machines/${encodeURIComponent(mac)}`;

interface PowerFlags {
  label?: string;
  cluster?: string;
  stagger: string;
  wait: boolean;
}

interface BatchItem {
  mac: string;
  status: 'pending' | 'done' | 'failed';
  driver?: string;
  error?: string;
}
interface Batch {
  id: number;
  action: string;
  staggerMs: number;
  finishedAt: string | null;
  items: BatchItem[];
}

/** `5s`, `500ms`, `1m`, or a number of seconds → milliseconds. */
export function parseStagger(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw usageError(`--stagger "${text}": a duration like 5s, 500ms or 1m`);
  const ms = Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000));
  if (ms > 600_000) throw usageError('--stagger is at most 10m');
  return ms;
}

function noDriverHint(err: unknown): never {
  if (err instanceof CliError && err.exitCode === EXIT.conflict)
    throw new CliError(
      err.message,
      err.exitCode,
      err.hint ?? 'give the machine a BMC: metalboot machine bmc <mac> ipmi://user@host --password-file f',
    );
  throw err;
}

async function batch(api: ApiClient, action: string, o: PowerFlags, json: boolean): Promise<void> {
  const started = await api.request<Batch>('POST', '/power/batches', {
    action,
    ...(o.label ? { label: o.label } : {}),
    ...(o.cluster ? { cluster: o.cluster } : {}),
    staggerMs: parseStagger(o.stagger),
  });
  if (!json)
    process.stdout.write(
      `power ${action}: ${started.items.length} machine(s), one every ${started.staggerMs / 1000}s (batch ${started.id})\n`,
    );
  if (!o.wait) return json ? printJson(started) : undefined;
  // Bounded: the stagger for each machine plus a generous minute per BMC call (timeouts, retries).
  const deadline = Date.now() + started.items.length * (started.staggerMs + 60_000);
  const shown = new Set<string>();
  let b = started;
  for (;;) {
    for (const i of b.items)
      if (i.status !== 'pending' && !shown.has(i.mac)) {
        shown.add(i.mac);
        if (!json)
          process.stdout.write(
            `  ${i.mac}  ${i.status === 'done' ? `${action} via ${i.driver}` : `FAILED: ${i.error}`}\n`,
          );
      }
    if (b.finishedAt || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(200, b.staggerMs / 2))));
    b = await api.request<Batch>('GET', `/power/batches/${b.id}`);
  }
  if (json) printJson(b);
  const failed = b.items.filter((i) => i.status === 'failed').length;
  if (!b.finishedAt)
    throw new CliError(`batch ${b.id} is still running`, EXIT.failed, `metalboot machine power status`);
  if (failed) throw new CliError(`${failed} of ${b.items.length} machine(s) failed`, EXIT.failed);
}

export function powerCommand(): Command {
  return withClientOptions(
    new Command('power')
      .argument('<args...>', `<mac> ${[...ACTIONS, 'status'].join('|')}, or <action> with --label/--cluster`)
      .description("the machine's power through its BMC (Wake-on-LAN: on only); a selection one after another")
      .option('--label <key=value>', 'every registered machine with this label')
      .option('--cluster <name>', 'every registered machine of this cluster')
      .option('--stagger <duration>', 'with --label/--cluster: the gap between two machines (5s, 500ms)', '0')
      .option('--no-wait', 'with --label/--cluster: print the plan and return; the timelines show the rest'),
  ).action(async (args: string[], o: PowerFlags, cmd: Command) => {
    const flags = clientFlags(cmd);
    const api = ApiClient.fromFlags(flags);
    const json = flags.output === 'json';
    if (o.label || o.cluster) {
      if (args.length !== 1 || !ACTIONS.includes(args[0] as never))
        throw usageError(`with --label/--cluster give one action: ${ACTIONS.join('|')}`);
      return batch(api, args[0]!, o, json);
    }
    const [mac, action, ...rest] = args;
    if (!mac || !action || rest.length || ![...ACTIONS, 'status'].includes(action))
      throw usageError(`machine power <mac> ${[...ACTIONS, 'status'].join('|')}`);
    if (action === 'status') {
      const s = await api.request<{ state: string; driver: string | null }>('GET', `${path(mac)}/power`);
      if (json) return printJson(s);
      return void process.stdout.write(`${mac}: ${s.state}${s.driver ? ` (${s.driver})` : ' (no power control)'}\n`);
    }
    const r = await api
      .request<{ driver: string; detail: Record<string, unknown> }>('POST', `${path(mac)}/power`, { action })
      .catch(noDriverHint);
    if (json) return printJson(r);
    const bmc = typeof r.detail?.bmc === 'string' ? ` ${r.detail.bmc}` : '';
    process.stdout.write(`power ${action} sent to ${mac} via ${r.driver}${bmc}\n`);
  });
}

export function bootDeviceCommand(): Command {
  return withClientOptions(
    new Command('boot-device')
      .argument('<mac>')
      .addArgument(new Command().createArgument('<device>', 'pxe or disk').choices(['pxe', 'disk']))
      .description('boot from the network or the disk next time, through the BMC')
      .addOption(new Option('--persistent', 'every boot, not only the next one')),
  ).action(async (mac: string, device: string, o: { persistent?: boolean }, cmd: Command) => {
    const flags = clientFlags(cmd);
    const r = await ApiClient.fromFlags(flags)
      .request<{ device: string; persistent: boolean; efi: boolean; driver: string }>(
        'POST',
        `${path(mac)}/boot-device`,
        {
          device,
          persistent: !!o.persistent,
        },
      )
      .catch(noDriverHint);
    if (flags.output === 'json') return printJson(r);
    process.stdout.write(
      `${mac} boots from ${r.device} ${r.persistent ? 'from now on' : 'next time'}${r.efi ? ' (UEFI)' : ''} via ${r.driver}\n`,
    );
  });
}
