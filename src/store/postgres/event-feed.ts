/**
 * The timeline as every instance on the database writes it, live: one dedicated connection
 * LISTENs on `metalboot_events` (a pooled one would go back to the pool and stop hearing), and each
 * notification makes it read the new rows by id from where it last delivered. The rows, not the
 * payloads, are what it passes on, so what a live stream shows and what a Last-Event-ID replay reads
 * are the same rows in the same order; a notification lost with the connection costs nothing,
 * because after a reconnect it reads everything after the last id it delivered.
 */
import pg from 'pg';
import type { EventRepo } from '../../core/ports/types.js';
import type { TimelineFeed, TimelineFeedListener } from '../../core/ports/timeline-feed.js';
import { type Db, pgTypes } from './db.js';
import { EVENTS_CHANNEL, type Row, toEvent } from './events.js';

/** Rows read per query while catching up. */
const PAGE = 500;
/** How long a read waits for more notifications to come in, so one read covers a burst of appends. */
const COALESCE_MS = 5;
/** Repeat notifications remembered between two reads (more in one burst are dropped: best effort). */
const MAX_PENDING_REPEATS = 10_000;

export interface EventFeedOptions {
  /** Reconnect backoff: first wait, doubled per failed attempt up to `maxMs` (default 250 ms … 10 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told when the listening connection drops or cannot be made, and when a read fails (logs). */
  onTrouble?: (what: string, err: unknown) => void;
}

export class PgEventFeed implements TimelineFeed {
  private readonly listeners = new Set<TimelineFeedListener>();
  /** The last event id delivered (-1: not known yet, read when first listening). */
  private cursor = -1;
  private readonly repeats = new Set<number>();
  private dirty = false;
  private draining: Promise<void> | null = null;
  private client: pg.Client | null = null;
  private stopped = false;
  private wakeSleep: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly minMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly url: string,
    private readonly db: Db,
    private readonly events: EventRepo,
    private readonly opts: EventFeedOptions = {},
  ) {
    this.minMs = opts.minBackoffMs ?? 250;
    this.maxMs = opts.maxBackoffMs ?? 10_000;
  }

  /** Whether the listening connection is up now (for tests and health). */
  get listening(): boolean {
    return this.client !== null;
  }

  subscribe(listener: TimelineFeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Start listening; resolves once the first attempt succeeded or failed (it keeps retrying then). */
  start(): Promise<void> {
    if (this.loop) return Promise.resolve();
    let first!: () => void;
    const firstAttempt = new Promise<void>((resolve) => {
      first = resolve;
    });
    this.loop = this.run(first);
    return firstAttempt;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    await this.client?.end().catch(() => undefined);
    await this.loop;
    await this.draining;
  }

  /** Connect, LISTEN, wait until the connection ends; again after a backoff, until closed. */
  private async run(firstAttemptDone: () => void): Promise<void> {
    let delay = this.minMs;
    while (!this.stopped) {
      const client = new pg.Client({
        connectionString: this.url,
        application_name: 'metalboot-listen',
        types: pgTypes,
      });
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      // An idle client's 'error' (the server went away, a terminated backend) would otherwise be
      // an unhandled event and end the process: the 'end' that follows it starts a reconnect.
      client.on('error', (err) => this.opts.onTrouble?.('the event listener connection failed', err));
      client.on('notification', (m) => {
        if (m.channel === EVENTS_CHANNEL) this.notified(m.payload ?? '');
      });
      let up = false;
      try {
        await client.connect();
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        // Listening before reading where to start: anything committed after this read is notified.
        // Read through the pool: the listening connection's last statement stays its LISTEN (what an
        // operator looking at pg_stat_activity sees).
        if (this.cursor < 0) {
          const res = await this.db.read<{ id: number }>('SELECT coalesce(max(id), 0) AS id FROM machine_events');
          this.cursor = res.rows[0]!.id;
        }
        up = true;
        this.client = client;
        delay = this.minMs;
        firstAttemptDone();
        this.wake(); // after a reconnect: whatever committed while nobody listened
        await ended;
        if (!this.stopped) this.opts.onTrouble?.('the event listener connection ended; reconnecting', undefined);
      } catch (err) {
        if (!this.stopped) this.opts.onTrouble?.('cannot listen for timeline events; retrying', err);
      } finally {
        this.client = null;
        firstAttemptDone();
        await client.end().catch(() => undefined);
      }
      if (this.stopped) break;
      if (!up) delay = Math.min(delay * 2, this.maxMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, up ? this.minMs : delay);
        this.wakeSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeSleep = null;
    }
  }

  private notified(payload: string): void {
    const m = /^([ar]):(\d{1,15})$/.exec(payload);
    if (!m) return;
    const id = Number(m[2]);
    if (m[1] === 'a') {
      if (id <= this.cursor) return; // an earlier read already delivered it
    } else if (this.repeats.size < MAX_PENDING_REPEATS) this.repeats.add(id);
    this.wake();
  }

  private wake(): void {
    this.dirty = true;
    if (this.draining || this.cursor < 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
    });
  }

  /** Read and deliver until nothing new was notified meanwhile; one read at a time. */
  private async drain(): Promise<void> {
    while (this.dirty && !this.stopped) {
      // Gather a burst first: under a boot storm every append notifies, and one read per append
      // cost a query per /ipxe on every instance (the stream is a few milliseconds later for it).
      await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
      this.dirty = false;
      try {
        for (;;) {
          const rows = await this.events.since(this.cursor, PAGE);
          for (const e of rows) {
            this.cursor = e.id;
            this.emit((l) => l.appended(e));
          }
          if (rows.length < PAGE || this.stopped) break;
        }
        if (this.repeats.size > 0) {
          const ids = [...this.repeats];
          this.repeats.clear();
          const res = await this.db.read<Row>('SELECT * FROM machine_events WHERE id = ANY($1::bigint[]) ORDER BY id', [
            ids,
          ]);
          for (const r of res.rows) {
            const e = toEvent(r);
            if (e.id <= this.cursor) this.emit((l) => l.repeated(e));
          }
        }
      } catch (err) {
        // The database may be gone: the listening connection drops too, and its reconnect reads on
        // from the cursor. Should it stay up, the next notification does.
        if (!this.stopped) this.opts.onTrouble?.('reading new timeline events failed', err);
        return;
      }
    }
  }

  private emit(deliver: (l: TimelineFeedListener) => void): void {
    for (const l of [...this.listeners]) {
      try {
        deliver(l);
      } catch {
        // A listener's failure is its own; the others still hear.
      }
    }
  }
}
