/**
 * What `metalboot db copy` copies: every table of the store, column by column, in an order the
 * foreign keys accept. The two schemas hold the same tables and columns (PostgreSQL's migration 1
 * was written from SQLite's eight; SQLite 9 and PostgreSQL 3 both add the lease's `server_id`); SQLite's bookkeeping tables (`discovered_count`,
 * `retention_gate`) have no rows worth carrying: PostgreSQL counts and gates otherwise.
 *
 * The copy knows exactly one schema version of each engine. A migration added to either one
 * must be looked at here (a new column would otherwise be dropped silently): test/store/copy.test.ts
 * fails until COPY_SCHEMA and TABLES follow it.
 */

/** The schema versions this copy reads and writes: SQLite's `user_version` and PostgreSQL's `metalboot_migrations`. */
export const COPY_SCHEMA = { sqlite: 9, postgres: 3 } as const;

export type ColumnType = 'text' | 'bigint' | 'integer' | 'jsonb';

export interface TableSpec {
  name: string;
  /** The primary key (one column in every table): the copy reads in its order, a batch at a time. */
  key: string;
  columns: readonly (readonly [name: string, type: ColumnType])[];
  /** The key is an identity column: copied as it is (OVERRIDING SYSTEM VALUE), then the sequence moves past it. */
  identity?: boolean;
}

const text = (name: string) => [name, 'text'] as const;
const big = (name: string) => [name, 'bigint'] as const;
const json = (name: string) => [name, 'jsonb'] as const;

/** Parents before children: inserted in this order, deleted in the reverse. */
export const TABLES: readonly TableSpec[] = [
  { name: 'clusters', key: 'name', columns: [text('name'), json('doc')] },
  {
    name: 'machines',
    key: 'mac',
    columns: [
      text('mac'),
      text('uuid'),
      text('cluster'),
      text('state'),
      text('ip'),
      text('seen_ip'),
      text('seen_at'),
      text('token_hash'),
      text('token_ip'),
      text('token_created_at'),
      text('token_expires_at'),
      json('doc'),
    ],
  },
  { name: 'machine_bmc', key: 'mac', columns: [text('mac'), json('doc')] },
  {
    name: 'machine_events',
    key: 'id',
    identity: true,
    columns: [
      big('id'),
      text('mac'),
      text('at'),
      text('kind'),
      json('detail'),
      text('source_ip'),
      text('state'),
      ['repeats', 'integer'],
      text('last_at'),
    ],
  },
  {
    name: 'audit_log',
    key: 'id',
    identity: true,
    columns: [big('id'), text('at'), text('actor'), text('action'), text('target'), json('detail'), text('source_ip')],
  },
  {
    name: 'leases',
    key: 'ip_num',
    columns: [
      big('ip_num'),
      text('ip'),
      text('mac'),
      text('state'),
      big('expires_at'),
      big('updated_at'),
      text('hostname'),
      text('server_id'), // which DHCP instance made the offer or binding (SQLite 9, PostgreSQL 3)
    ],
  },
  { name: 'talos_seen_events', key: 'id', identity: true, columns: [big('id'), text('mac'), text('event_id')] },
  {
    name: 'talos_unattributed_events',
    key: 'id',
    identity: true,
    columns: [
      big('id'),
      text('at'),
      text('peer_ip'),
      text('event_id'),
      text('type'),
      json('payload'),
      text('claimed_by'),
    ],
  },
  { name: 'machine_progress', key: 'mac', columns: [text('mac'), json('doc')] },
];

/** One row as the copy carries it: the table's columns in TABLES order. */
export type Row = unknown[];

/** Why a copy or a migration stopped; the CLI turns `kind` into its exit code. */
export class StoreToolError extends Error {
  constructor(
    message: string,
    readonly kind: 'usage' | 'unreachable' | 'conflict' | 'failed',
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'StoreToolError';
  }
}

/** A pg or system error's words (a host with several addresses fails with an empty AggregateError). */
export function reasonOf(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: { message: string }[] };
  const msg = e.message || e.errors?.map((x) => x.message).join('; ') || String(err);
  return e.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}
