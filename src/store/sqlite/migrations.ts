import type { Database } from 'better-sqlite3';

/**
 * Schema migrations, versioned in code and applied in order inside one transaction each.
 * `PRAGMA user_version` records the last applied one. Never edit a released migration: add one.
 */
export interface Migration {
  version: number;
  description: string;
  up: (db: Database) => void;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'clusters, machines, timeline, audit log, config tokens',
    up: (db) =>
      db.exec(`
        CREATE TABLE clusters (
          name TEXT PRIMARY KEY,
          doc  TEXT NOT NULL                     -- the Cluster as JSON
        );
        CREATE TABLE machines (
          mac     TEXT PRIMARY KEY,               -- aa:bb:cc:dd:ee:ff
          uuid    TEXT,
          cluster TEXT REFERENCES clusters(name),
          state   TEXT NOT NULL,
          ip      TEXT,                           -- reserved address
          seen_ip TEXT,                           -- address it last booted from
          doc     TEXT NOT NULL                   -- the Machine as JSON
        );
        CREATE INDEX machines_uuid ON machines(uuid);
        CREATE INDEX machines_cluster ON machines(cluster);
        CREATE INDEX machines_state ON machines(state);
        CREATE INDEX machines_ip ON machines(ip);
        CREATE INDEX machines_seen_ip ON machines(seen_ip);
        CREATE TABLE machine_events (
          id        INTEGER PRIMARY KEY AUTOINCREMENT,
          mac       TEXT NOT NULL,               -- no FK: the timeline outlives a deleted machine
          at        TEXT NOT NULL,
          kind      TEXT NOT NULL,
          detail    TEXT NOT NULL,
          source_ip TEXT,
          state     TEXT
        );
        CREATE INDEX machine_events_mac ON machine_events(mac, id);
        CREATE TABLE audit_log (
          id        INTEGER PRIMARY KEY AUTOINCREMENT,
          at        TEXT NOT NULL,
          actor     TEXT NOT NULL,
          action    TEXT NOT NULL,
          target    TEXT,
          detail    TEXT NOT NULL,
          source_ip TEXT
        );
        CREATE INDEX audit_log_target ON audit_log(target, id);
        CREATE TABLE config_tokens (
          token_hash TEXT PRIMARY KEY,             -- sha256 of the token: the secret is never stored
          mac        TEXT NOT NULL,
          source_ip  TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL
        );
        CREATE INDEX config_tokens_mac ON config_tokens(mac);
        -- append-only: the timeline and the audit log are evidence
        CREATE TRIGGER machine_events_append_only_u BEFORE UPDATE ON machine_events
          BEGIN SELECT RAISE(ABORT, 'machine_events is append-only'); END;
        CREATE TRIGGER machine_events_append_only_d BEFORE DELETE ON machine_events
          BEGIN SELECT RAISE(ABORT, 'machine_events is append-only'); END;
        CREATE TRIGGER audit_log_append_only_u BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_append_only_d BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      `),
  },
  {
    version: 2,
    description: 'DHCP leases (authoritative mode)',
    up: (db) =>
      db.exec(`
        CREATE TABLE leases (
          ip_num     INTEGER PRIMARY KEY,          -- the address as an unsigned 32-bit integer
          ip         TEXT NOT NULL,
          mac        TEXT NOT NULL,
          state      TEXT NOT NULL CHECK (state IN ('offered', 'bound', 'released', 'declined')),
          expires_at INTEGER NOT NULL,             -- ms since epoch
          updated_at INTEGER NOT NULL,
          hostname   TEXT
        );
        CREATE INDEX leases_mac ON leases(mac);
      `),
  },
  {
    version: 3,
    description: 'Talos event ids (idempotent ingestion), unattributed Talos events, machine progress',
    up: (db) =>
      db.exec(`
        CREATE TABLE talos_seen_events (
          id       INTEGER PRIMARY KEY AUTOINCREMENT,
          mac      TEXT NOT NULL,
          event_id TEXT NOT NULL,                -- Talos's event id (an xid)
          UNIQUE (mac, event_id)
        );
        CREATE TABLE talos_unattributed_events (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          at         TEXT NOT NULL,
          peer_ip    TEXT NOT NULL,              -- the address the event came from
          event_id   TEXT NOT NULL,
          type       TEXT NOT NULL,
          payload    TEXT NOT NULL,              -- the decoded event as JSON
          claimed_by TEXT,                       -- the machine it was attributed to later
          UNIQUE (peer_ip, event_id)
        );
        CREATE INDEX talos_unattributed_peer ON talos_unattributed_events(peer_ip, id);
        CREATE TABLE machine_progress (
          mac TEXT PRIMARY KEY,                  -- no FK: written by listeners, read beside machines
          doc TEXT NOT NULL                      -- MachineProgress as JSON
        );
      `),
  },
  {
    version: 4,
    // A machine has at most one valid config token (issuing one revokes the last), and the config
    // URL names the machine: the token belongs in the machine's row. As a table of its own, every
    // install script deleted a row and inserted one, dirtying four pages of two indexes besides;
    // in the machine's row it is written beside the last-seen facts the same request writes anyway.
    description: 'config tokens move into the machine row (one per machine)',
    up: (db) =>
      db.exec(`
        ALTER TABLE machines ADD COLUMN token_hash TEXT;       -- sha256 of the token, never the token
        ALTER TABLE machines ADD COLUMN token_ip TEXT;         -- the address the boot script went to
        ALTER TABLE machines ADD COLUMN token_created_at TEXT;
        ALTER TABLE machines ADD COLUMN token_expires_at TEXT;
        UPDATE machines SET (token_hash, token_ip, token_created_at, token_expires_at) = (
          SELECT token_hash, source_ip, created_at, expires_at FROM config_tokens t
          WHERE t.mac = machines.mac ORDER BY created_at DESC LIMIT 1);
        DROP TABLE config_tokens;
      `),
  },
  {
    version: 5,
    // Bounded growth (issue 20): the oldest discovered machines are dropped past the cap and
    // after the retention, and timeline and audit rows past their retention. `seen_at` orders the
    // discovered ones without reading every document; the partial index holds only them.
    // The timeline and the audit log stay append-only for everyone but retention: a DELETE is
    // refused unless the housekeeping transaction opened `retention_gate` (and it closes it in the
    // same transaction, so no other statement ever sees it open).
    description: 'last-seen column for discovered machines; retention may delete old timeline and audit rows',
    up: (db) =>
      db.exec(`
        ALTER TABLE machines ADD COLUMN seen_at TEXT;      -- ISO time of the last boot request seen
        UPDATE machines SET seen_at = COALESCE(json_extract(doc, '$.lastSeen.at'), json_extract(doc, '$.createdAt'));
        CREATE INDEX machines_discovered_seen ON machines(seen_at, mac) WHERE state = 'discovered';
        -- How many are discovered, kept by triggers: every discovery checks the cap, and count(*)
        -- over 10,000 index entries per discovery made 20,000 discoveries take minutes.
        CREATE TABLE discovered_count (n INTEGER NOT NULL);
        INSERT INTO discovered_count (n) SELECT count(*) FROM machines WHERE state = 'discovered';
        CREATE TRIGGER machines_discovered_i AFTER INSERT ON machines WHEN NEW.state = 'discovered'
          BEGIN UPDATE discovered_count SET n = n + 1; END;
        CREATE TRIGGER machines_discovered_d AFTER DELETE ON machines WHEN OLD.state = 'discovered'
          BEGIN UPDATE discovered_count SET n = n - 1; END;
        CREATE TRIGGER machines_discovered_u AFTER UPDATE OF state ON machines
          WHEN (OLD.state = 'discovered') != (NEW.state = 'discovered')
          BEGIN UPDATE discovered_count SET n = n + (NEW.state = 'discovered') - (OLD.state = 'discovered'); END;
        CREATE TABLE retention_gate (open INTEGER NOT NULL);
        INSERT INTO retention_gate (open) VALUES (0);
        DROP TRIGGER machine_events_append_only_d;
        DROP TRIGGER audit_log_append_only_d;
        CREATE TRIGGER machine_events_append_only_d BEFORE DELETE ON machine_events
          WHEN (SELECT open FROM retention_gate) = 0
          BEGIN SELECT RAISE(ABORT, 'machine_events is append-only (only retention deletes)'); END;
        CREATE TRIGGER audit_log_append_only_d BEFORE DELETE ON audit_log
          WHEN (SELECT open FROM retention_gate) = 0
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (only retention deletes)'); END;
      `),
  },
  {
    version: 6,
    // Refusals unauthenticated requests can trigger at any rate are coalesced: one audit row per
    // action, source and reason per minute whose `detail.count` grows (core/coalesced-audit.ts).
    // The log stays evidence: only those actions' detail may change, nothing else of any row.
    description: 'coalesced refusal entries: their detail (the count) may be updated in place',
    up: (db) =>
      db.exec(`
        DROP TRIGGER audit_log_append_only_u;
        CREATE TRIGGER audit_log_append_only_u BEFORE UPDATE ON audit_log
          WHEN NOT (OLD.action IN ('config.refused', 'config.binding-refused', 'config.conflict')
            AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.action = OLD.action
            AND NEW.target IS OLD.target AND NEW.source_ip IS OLD.source_ip)
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only (only a coalesced refusal''s count grows)'); END;
      `),
  },
  {
    version: 7,
    // A machine that asks for the same thing again and again (a boot loop, or one address replaying
    // a MAC's /ipxe at full speed) grows one event by its count instead of the table by a row per
    // request (core/progress timeline coalescing). Everything else of an event stays immutable, and
    // the count only grows.
    description: 'repeated identical timeline events are counted on the first one (repeats, last_at)',
    up: (db) =>
      db.exec(`
        ALTER TABLE machine_events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE machine_events ADD COLUMN last_at TEXT;
        DROP TRIGGER machine_events_append_only_u;
        CREATE TRIGGER machine_events_append_only_u BEFORE UPDATE ON machine_events
          WHEN NOT (NEW.id = OLD.id AND NEW.mac = OLD.mac AND NEW.at = OLD.at AND NEW.kind = OLD.kind
            AND NEW.detail = OLD.detail AND NEW.source_ip IS OLD.source_ip AND NEW.state IS OLD.state
            AND NEW.repeats > OLD.repeats)
          BEGIN SELECT RAISE(ABORT, 'machine_events is append-only (only a repeat count grows)'); END;
      `),
  },
  {
    version: 8,
    // Out-of-band power (issue 14): a machine's BMC, its password sealed by the core's SecretSealer
    // (AES-256-GCM, key in the data dir), so a copy of the database alone does not reveal it.
    description: "machines' BMCs (driver, address, user, sealed password)",
    up: (db) =>
      db.exec(`
        CREATE TABLE machine_bmc (
          mac TEXT PRIMARY KEY REFERENCES machines(mac) ON DELETE CASCADE,
          doc TEXT NOT NULL                       -- StoredBmc as JSON (passwordSealed, never the password)
        );
      `),
  },
  {
    version: 9,
    // Several authoritative instances on one lease table (issue 15): a REQUEST naming another
    // server cancels only the offers this one made, so each row says whose offer or binding it is.
    description: 'leases: the server identifier of the server that made the offer or binding',
    up: (db) => db.exec('ALTER TABLE leases ADD COLUMN server_id TEXT;'),
  },
];

export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > latest) {
    throw new Error(
      `database schema version ${current} is newer than this metalboot understands (${latest}); upgrade metalboot`,
    );
  }
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return latest;
}
