/**
 * The store serve would open: PostgreSQL with --database (reachable? which server? a schema this
 * build can use?) or the SQLite file in the data directory (its mode and schema version; who else
 * can read the directory is file-checks.ts's). Nothing is written: no migration, no file created.
 */
import { join } from 'node:path';
import { parseDatabase } from '../settings/settings.js';
import { inspectPostgres, inspectSqlite } from '../store/tools/schema.js';
import type { Check } from './types.js';

const mode = (m: number) => `0${m.toString(8)}`;

/** What to say about a schema version against the newest this build knows. */
function schemaCheck(where: string, version: number, latest: number, prefix: string): Check {
  const check = (status: Check['status'], message: string, hint?: string): Check => ({
    area: 'database',
    status,
    message: `${prefix}, ${message}`,
    hint,
  });
  if (version > latest)
    return check(
      'fail',
      `schema version ${version} is newer than this metalboot understands (${latest})`,
      `serve refuses it: upgrade metalboot to the version that wrote ${where}`,
    );
  if (version === 0)
    return check('info', 'no metalboot schema yet', `serve creates it at start (or: metalboot db migrate)`);
  if (version < latest)
    return check(
      'info',
      `schema version ${version}`,
      `serve migrates it to ${latest} at start (or: metalboot db migrate)`,
    );
  return check('ok', `schema version ${version} (current)`);
}

export async function databaseChecks(s: { database?: string; dataDir: string }): Promise<Check[]> {
  let url: string | undefined;
  try {
    url = parseDatabase(s.database);
  } catch (err) {
    return [
      { area: 'database', status: 'fail', message: (err as Error).message, hint: 'serve refuses this setting too' },
    ];
  }
  if (url) {
    try {
      const info = await inspectPostgres(url);
      return [
        schemaCheck(info.where, info.schemaVersion, info.latest, `PostgreSQL ${info.serverVersion} at ${info.where}`),
      ];
    } catch (err) {
      return [
        {
          area: 'database',
          status: 'fail',
          message: (err as Error).message,
          hint: 'serve will not start: check --database / METALBOOT_DATABASE (host, port, user, password, database) and that the server accepts connections (pg_isready -h <host> -p <port>)',
        },
      ];
    }
  }
  const info = inspectSqlite(join(s.dataDir, 'metalboot.db'));
  if (!info.exists)
    return [
      {
        area: 'database',
        status: 'info',
        message: `SQLite ${info.file} does not exist yet; serve creates it (mode 0600)`,
      },
    ];
  if (info.error || info.schemaVersion === undefined)
    return [
      {
        area: 'database',
        status: 'fail',
        message: `cannot read SQLite ${info.file}: ${info.error}`,
        hint: 'run doctor as the user that runs metalboot serve; a file that is not SQLite must be moved away',
      },
    ];
  return [schemaCheck(info.file, info.schemaVersion, info.latest, `SQLite ${info.file}: mode ${mode(info.mode ?? 0)}`)];
}
