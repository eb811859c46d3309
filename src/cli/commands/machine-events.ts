/**
 * `metalboot machine events <mac> [--follow] [--until <state>]`: the machine's timeline, oldest
 * first. Following subscribes to `GET /api/v1/events/stream?mac=` (Server-Sent Events) and then
 * reads the history after the last event shown, so nothing that happened in between is lost; event
 * ids only grow, so nothing is shown twice. When the server goes away the CLI waits and reconnects
 * the same way. A server without the stream is polled (`events?after=<last id>`).
 */
import { Command, Option } from 'commander';
import { MACHINE_STATES, type Machine, type MachineEvent } from '../../core/types.js';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { CliError, EXIT, UnreachableError, usageError } from '../errors.js';
import { positiveNumber } from '../inputs.js';
import { note, printJson } from '../output.js';
import { pageOfBody, type PageBody } from '../pages.js';
import { sseMessages } from '../sse.js';

const PAGE = 1000;

interface EventFlags {
  follow?: boolean;
  after?: string;
  until?: string;
  interval: string;
}

/** One event per line: time, kind, state it moved to, who sent it, then the details. */
export function formatEvent(e: MachineEvent): string {
  const detail = Object.entries(e.detail ?? {})
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const shown = detail.length > 160 ? `${detail.slice(0, 159)}…` : detail;
  // Identical repeats counted on this event (a boot loop, a replayed request): how many, until when.
  const repeats = e.repeats && e.repeats > 1 ? ` (×${e.repeats} until ${e.lastAt})` : '';
  return `${e.at}  ${e.kind.padEnd(26)} ${(e.state ? `→ ${e.state}` : '').padEnd(20)} ${(e.sourceIp ?? '-').padEnd(15)} ${shown}${repeats}`.trimEnd();
}

/** The event MachineService.delete records: the machine left the registry. */
const REMOVED = 'removed';

/**
 * Follows one machine's timeline; `show` returns true once the wanted state is reached. Following
 * ends, too, when the machine is removed (`gone`: its latest event is `removed`).
 */
class Follower {
  private reconnectNoted = false;
  gone = false;

  constructor(
    private readonly api: ApiClient,
    private readonly mac: string,
    private after: number | undefined,
    private readonly show: (e: MachineEvent) => boolean,
    private readonly intervalMs: number,
  ) {}

  /** Every event after `after`, page by page; true when the wanted state was reached. */
  async history(): Promise<boolean> {
    for (;;) {
      const q = `limit=${PAGE}${this.after !== undefined ? `&after=${this.after}` : ''}`;
      const batch = pageOfBody(
        await this.api.get<MachineEvent[] | PageBody<MachineEvent>>(
          `/machines/${encodeURIComponent(this.mac)}/events?${q}`,
        ),
      ).items;
      let reached = false;
      for (const e of batch) reached = this.emit(e) || reached;
      if (reached) return true;
      // A `removed` followed by more (registered again) is history; only the latest one ends it.
      if (batch.length < PAGE) return this.gone;
    }
  }

  async run(): Promise<void> {
    for (;;) {
      const controller = new AbortController();
      try {
        const res = await this.api.stream(`/events/stream?mac=${encodeURIComponent(this.mac)}`, controller.signal);
        try {
          if (await this.history()) return; // after subscribing: the gap is covered
          this.back();
          for await (const m of sseMessages(res.body!)) {
            if (m.event === 'machine-event' && (this.emit(JSON.parse(m.data) as MachineEvent) || this.gone)) return;
            // The same event happened again (its count grew): shown, it moves no state.
            if (m.event === 'machine-event-repeated') this.show(JSON.parse(m.data) as MachineEvent);
          }
        } finally {
          controller.abort();
        }
        this.lost('the server closed the event stream');
      } catch (err) {
        if (err instanceof CliError && /does not support/.test(err.message)) return this.poll();
        if (!(err instanceof UnreachableError) && !isNetworkError(err)) throw err;
        this.lost((err as Error).message);
      }
      await sleep(this.intervalMs);
    }
  }

  /** Servers without the event stream: ask for what is new every interval. */
  private async poll(): Promise<void> {
    for (;;) {
      try {
        if (await this.history()) return;
        this.back();
      } catch (err) {
        if (!(err instanceof UnreachableError)) throw err;
        this.lost(err.message);
      }
      await sleep(this.intervalMs);
    }
  }

  private emit(e: MachineEvent): boolean {
    if (this.after !== undefined && e.id <= this.after) return false; // already shown
    this.after = e.id;
    this.gone = e.kind === REMOVED;
    return this.show(e);
  }

  private lost(why: string): void {
    if (!this.reconnectNoted) note(`${why}; reconnecting (Ctrl-C to stop)`);
    this.reconnectNoted = true;
  }

  private back(): void {
    if (this.reconnectNoted) note('following again');
    this.reconnectNoted = false;
  }
}

export function eventsCommand(): Command {
  return withClientOptions(
    new Command('events')
      .argument('<mac>')
      .description("a machine's timeline, oldest first (--follow: keep printing new events as they happen)")
      .option('-f, --follow', 'keep watching; Ctrl-C to stop')
      .option('--after <id>', 'only events after this event id')
      .addOption(
        new Option('--until <state>', 'with --follow: stop (exit 0) once the machine reaches this state').choices([
          ...MACHINE_STATES,
        ]),
      )
      .option(
        '--interval <seconds>',
        'with --follow: how long to wait before reconnecting (or between polls on servers without the event stream)',
        '1',
      ),
  ).action(async (mac: string, o: EventFlags, cmd: Command) => {
    const flags = clientFlags(cmd);
    const api = ApiClient.fromFlags(flags);
    const intervalMs = positiveNumber(o.interval, '--interval') * 1000;
    if (o.after !== undefined && !/^\d+$/.test(o.after)) throw usageError('--after must be an event id (a number)');
    if (o.until && !o.follow) note('--until only has an effect with --follow');
    const json = flags.output === 'json';
    const machine = await api.get<Machine>(`/machines/${encodeURIComponent(mac)}`).catch((err: unknown) => {
      if (err instanceof CliError && err.exitCode === EXIT.notFound)
        throw new CliError(err.message, EXIT.notFound, 'see the machines with `metalboot machine list`');
      throw err;
    });
    const collected: MachineEvent[] = [];
    const show = (e: MachineEvent) => {
      if (!o.follow && json) collected.push(e);
      else process.stdout.write(`${json ? JSON.stringify(e) : formatEvent(e)}\n`);
      return o.until !== undefined && e.state === o.until;
    };
    const follower = new Follower(
      api,
      machine.mac,
      o.after !== undefined ? Number(o.after) : undefined,
      show,
      intervalMs,
    );
    if (!o.follow) {
      await follower.history();
      if (json) printJson(collected);
      return;
    }
    process.once('SIGINT', () => process.exit(0)); // Ctrl-C is how following ends
    if (o.until && machine.state === o.until) return void (await follower.history());
    await follower.run();
    if (follower.gone) {
      const what = `machine ${machine.mac} was removed from the registry`;
      // Waiting for a state it will now never reach is not success.
      if (o.until) throw new CliError(`${what} before reaching ${o.until}`, EXIT.notFound);
      note(`${what}; stopped following`);
    }
  });
}

/** fetch reports a dropped connection mid-body as a TypeError ("terminated"). */
const isNetworkError = (err: unknown) => err instanceof TypeError || (err as { name?: string }).name === 'AbortError';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
