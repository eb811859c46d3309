import type { MachineEvent } from '../../core/types.js';
import type { EventRepo, NewMachineEvent } from '../../core/ports/types.js';
import type { SqlDb } from './group-commit.js';
import { retentionPruner } from './retention.js';

/** The machines' timeline (append-only table from migration 1); an event with a state moves the machine's. */
export function sqliteEventRepo(db: SqlDb): EventRepo {
  type Row = {
    id: number;
    mac: string;
    at: string;
    kind: string;
    detail: string;
    source_ip: string | null;
    state: string | null;
    repeats: number;
    last_at: string | null;
  };
  const repeat = db.prepare<[string, number]>(
    'UPDATE machine_events SET repeats = repeats + 1, last_at = ? WHERE id = ?',
  );
  const insert = db.prepare(
    'INSERT INTO machine_events (mac, at, kind, detail, source_ip, state) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // The state lives in its column and in the document; the document is edited in place by SQLite
  // (no parse and re-serialise in JS), and only when the state really changes.
  const setState = db.prepare(
    `UPDATE machines SET state = @state, doc = json_set(doc, '$.state', @state, '$.stateChangedAt', @at)
     WHERE mac = @mac AND state IS NOT @state`,
  );
  const list = db.prepare<[string, number, number], Row>(
    'SELECT * FROM machine_events WHERE mac = ? AND id > ? ORDER BY id LIMIT ?',
  );
  const since = db.prepare<[number, number], Row>('SELECT * FROM machine_events WHERE id > ? ORDER BY id LIMIT ?');
  const tail = db.prepare<[string, number], Row>(
    'SELECT * FROM (SELECT * FROM machine_events WHERE mac = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
  );
  // One index seek per asked MAC (machine_events_mac): the whole-table GROUP BY mac would scan
  // every event ever recorded, and the timeline outlives deleted machines.
  const latest = db.prepare<[string], { mac: string; id: number; kind: string; at: string }>(
    'SELECT e.mac, e.id, e.kind, COALESCE(e.last_at, e.at) AS at FROM json_each(?) j JOIN machine_events e ON e.id = (SELECT max(id) FROM machine_events WHERE mac = j.value)',
  );
  const toEvent = (r: Row): MachineEvent => ({
    id: r.id,
    mac: r.mac,
    at: r.at,
    kind: r.kind,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    sourceIp: r.source_ip,
    state: r.state as MachineEvent['state'],
    // Only a coalesced event carries its count: most events happen once.
    ...(r.repeats > 1 ? { repeats: r.repeats, lastAt: r.last_at ?? r.at } : {}),
  });
  const append = db.transaction((e: NewMachineEvent): MachineEvent => {
    const id = Number(insert.run(e.mac, e.at, e.kind, JSON.stringify(e.detail), e.sourceIp, e.state).lastInsertRowid);
    if (e.state) setState.run({ state: e.state, at: e.at, mac: e.mac });
    return { id, ...e };
  });
  const prune = retentionPruner(db, 'machine_events');
  return {
    async append(e) {
      return append(e);
    },
    async repeat(id, at) {
      return repeat.run(at, id).changes > 0;
    },
    async prune(opts) {
      return prune(opts);
    },
    async list(mac, opts = {}) {
      return list.all(mac, opts.afterId ?? 0, opts.limit ?? 10_000).map(toEvent);
    },
    async since(afterId, limit) {
      return since.all(afterId, limit).map(toEvent);
    },
    async tail(mac, limit) {
      return tail.all(mac, limit).map(toEvent);
    },
    async latest(macs) {
      if (macs.length === 0) return new Map();
      return new Map(latest.all(JSON.stringify(macs)).map((r) => [r.mac, { id: r.id, kind: r.kind, at: r.at }]));
    },
  };
}
