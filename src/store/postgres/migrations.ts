/**
 * The PostgreSQL schema, versioned in code: each migration runs in a transaction of its own and is
 * recorded in `metalboot_migrations`. Never edit a released migration: add one. The whole run holds
 * a session advisory lock, so instances starting together on one database wait for each other
 * instead of racing to create the same tables; the one that comes second finds nothing left to do.
 */
import type pg from 'pg';
import { LOCK_SPACE, LOCKS } from './db.js';

export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

/** Text that is compared or ordered (names, MACs, ISO times) sorts bytewise, as in SQLite, whatever the database's locale. */
const C = 'COLLATE "C"';

export const PG_MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    description: 'clusters, machines (with config token and last-seen columns), timeline, audit log, leases, Talos',
    sql: `
      CREATE TABLE clusters (
        name text ${C} PRIMARY KEY,
        doc  jsonb NOT NULL                                  -- the Cluster
      );
      CREATE TABLE machines (
        mac     text ${C} PRIMARY KEY,                       -- aa:bb:cc:dd:ee:ff
        uuid    text,
        cluster text ${C} REFERENCES clusters(name),
        state   text NOT NULL,
        ip      text,                                        -- reserved address
        seen_ip text,                                        -- address it last booted from
        seen_at text ${C},                                   -- ISO time of the last boot seen (or creation)
        token_hash text,                                     -- sha256 of the config token, never the token
        token_ip text,
        token_created_at text,
        token_expires_at text,
        doc     jsonb NOT NULL                               -- the Machine
      );
      CREATE INDEX machines_uuid ON machines(uuid);
      CREATE INDEX machines_cluster ON machines(cluster);
      CREATE INDEX machines_state ON machines(state);
      CREATE INDEX machines_ip ON machines(ip);
      CREATE INDEX machines_seen_ip ON machines(seen_ip);
      CREATE INDEX machines_discovered_seen ON machines(seen_at, mac) WHERE state = 'discovered';
      CREATE TABLE machine_bmc (
        mac text ${C} PRIMARY KEY REFERENCES machines(mac) ON DELETE CASCADE,
        doc jsonb NOT NULL                                   -- StoredBmc (the password sealed)
      );
      -- Ids are one sequence for every machine: globally ordered (events.ts takes a lock so they
      -- also become visible in that order). No FK: the timeline outlives a deleted machine.
      CREATE TABLE machine_events (
        id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        mac       text ${C} NOT NULL,
        at        text ${C} NOT NULL,
        kind      text NOT NULL,
        detail    jsonb NOT NULL,
        source_ip text,
        state     text,
        repeats   integer NOT NULL DEFAULT 1,
        last_at   text
      );
      CREATE INDEX machine_events_mac ON machine_events(mac, id);
      CREATE TABLE audit_log (
        id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at        text ${C} NOT NULL,
        actor     text NOT NULL,
        action    text NOT NULL,
        target    text,
        detail    jsonb NOT NULL,
        source_ip text
      );
      CREATE INDEX audit_log_target ON audit_log(target, id);
      CREATE TABLE leases (
        ip_num     bigint PRIMARY KEY CHECK (ip_num BETWEEN 0 AND 4294967295), -- the address as an unsigned 32-bit integer
        ip         text NOT NULL,
        mac        text ${C} NOT NULL,
        state      text NOT NULL CHECK (state IN ('offered', 'bound', 'released', 'declined')),
        expires_at bigint NOT NULL,                          -- ms since epoch
        updated_at bigint NOT NULL,
        hostname   text
      );
      CREATE INDEX leases_mac ON leases(mac);
      CREATE TABLE talos_seen_events (
        id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        mac      text NOT NULL,
        event_id text NOT NULL,                              -- Talos's event id (an xid)
        UNIQUE (mac, event_id)
      );
      CREATE INDEX talos_seen_mac ON talos_seen_events(mac, id);
      CREATE TABLE talos_unattributed_events (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at         text NOT NULL,
        peer_ip    text NOT NULL,
        event_id   text NOT NULL,
        type       text NOT NULL,
        payload    jsonb NOT NULL,
        claimed_by text,
        UNIQUE (peer_ip, event_id)
      );
      CREATE INDEX talos_unattributed_peer ON talos_unattributed_events(peer_ip, id);
      CREATE TABLE machine_progress (
        mac text PRIMARY KEY,                                -- no FK: written by listeners, read beside machines
        doc jsonb NOT NULL                                   -- MachineProgress
      );
    `,
  },
  {
    version: 2,
    // The timeline and the audit log are evidence. Only what the port allows changes: an event's
    // repeat count grows (with last_at), a coalesced refusal's detail (its count) is replaced, and
    // retention deletes the oldest rows inside its own transaction, which opens the gate with
    // set_config(..., true): local to that transaction, so no other statement ever sees it open.
    description: 'append-only guards on the timeline and the audit log',
    sql: `
      CREATE FUNCTION metalboot_machine_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF current_setting('metalboot.retention', true) = 'on' THEN RETURN OLD; END IF;
          RAISE EXCEPTION 'machine_events is append-only (only retention deletes)' USING ERRCODE = 'raise_exception';
        END IF;
        IF NEW.id = OLD.id AND NEW.mac = OLD.mac AND NEW.at = OLD.at AND NEW.kind = OLD.kind
           AND NEW.detail = OLD.detail AND NEW.source_ip IS NOT DISTINCT FROM OLD.source_ip
           AND NEW.state IS NOT DISTINCT FROM OLD.state AND NEW.repeats > OLD.repeats THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'machine_events is append-only (only a repeat count grows)';
      END $$;
      CREATE TRIGGER machine_events_append_only BEFORE UPDATE OR DELETE ON machine_events
        FOR EACH ROW EXECUTE FUNCTION metalboot_machine_events_guard();

      CREATE FUNCTION metalboot_audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF current_setting('metalboot.retention', true) = 'on' THEN RETURN OLD; END IF;
          RAISE EXCEPTION 'audit_log is append-only (only retention deletes)';
        END IF;
        IF OLD.action IN ('config.refused', 'config.binding-refused', 'config.conflict')
           AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
           AND NEW.target IS NOT DISTINCT FROM OLD.target AND NEW.source_ip IS NOT DISTINCT FROM OLD.source_ip THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only (only a coalesced refusal''s count grows)';
      END $$;
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION metalboot_audit_log_guard();

      CREATE FUNCTION metalboot_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only (TRUNCATE refused)', TG_TABLE_NAME;
      END $$;
      CREATE TRIGGER machine_events_no_truncate BEFORE TRUNCATE ON machine_events
        FOR EACH STATEMENT EXECUTE FUNCTION metalboot_refuse_truncate();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION metalboot_refuse_truncate();
    `,
  },
  {
    version: 3,
    // Two authoritative instances on one segment share this table: a REQUEST naming another server
    // cancels only the offers this one made, so each row says whose offer or binding it is.
    description: 'leases: the server identifier of the server that made the offer or binding',
    sql: 'ALTER TABLE leases ADD COLUMN server_id text;',
  },
];

/**
 * Bring the schema up to date; returns the versions this call applied (none when another instance
 * already did). Fails without changing anything when the database is newer than this metalboot.
 */
export async function migratePostgres(pool: pg.Pool, migrations: PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    // A session lock: held across the migrations' own transactions, released below (or by the
    // server when this connection dies).
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_SPACE, LOCKS.migrations]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS metalboot_migrations (
           version integer PRIMARY KEY,
           description text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const res = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM metalboot_migrations');
      const current = res.rows[0]?.v ?? 0;
      const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
      if (current > latest)
        throw new Error(
          `database schema version ${current} is newer than this metalboot understands (${latest}); upgrade metalboot`,
        );
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (m.version <= current) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO metalboot_migrations (version, description) VALUES ($1, $2)', [
            m.version,
            m.description,
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`PostgreSQL migration ${m.version} (${m.description}) failed: ${(err as Error).message}`);
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, LOCKS.migrations]);
    }
  } finally {
    client.release();
  }
  return applied;
}
