/**
 * `metalboot db`: the store without a server. `db migrate` runs the migrations serve runs at start;
 * `db copy` moves a whole store (a homelab's SQLite file, usually) into PostgreSQL. The work is in
 * src/store/tools/; this file is flags, messages and exit codes.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { parseDatabase } from '../../settings/settings.js';
import { type CopySummary, copyStore } from '../../store/tools/copy.js';
import { migratePostgresUrl, migrateSqliteFile, type MigrateResult } from '../../store/tools/schema.js';
import { StoreToolError } from '../../store/tools/tables.js';
import { fillFromSettingsFile, loadSettingsFile } from '../config-file.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { printJson } from '../output.js';
import { configOption, SERVE_SETTING_KEYS } from './serve-options.js';

const EXIT_OF = {
  usage: EXIT.usage,
  unreachable: EXIT.unreachable,
  conflict: EXIT.conflict,
  failed: EXIT.failed,
} as const;

/** A store tool's refusal as the CLI's error (its kind decides the exit code). */
function cliError(err: unknown): unknown {
  return err instanceof StoreToolError ? new CliError(err.message, EXIT_OF[err.kind], err.hint) : err;
}

/** parseDatabase's checks, its messages naming the flag the user gave. */
function postgresUrl(value: string, flag: string): string {
  try {
    const url = parseDatabase(value);
    if (!url) throw new Error('--database is empty');
    return url;
  } catch (err) {
    throw usageError(
      (err as Error).message.replace('--database', flag).replace(/; leave it unset.*$/, ''),
      'e.g. postgres://metalboot:PASSWORD@db.example:5432/metalboot',
    );
  }
}

const output = () =>
  new Option('-o, --output <format>', 'table (for people) or json (for scripts)')
    .choices(['table', 'json'])
    .default('table');

export function dbCommand(): Command {
  const db = new Command('db').description('the store without a server: migrate it, or copy it into PostgreSQL');

  db.command('copy')
    .summary('copy a whole store (SQLite or PostgreSQL) into an empty PostgreSQL database')
    .description(
      'copy a whole store (clusters, machines, timelines, audit log, tokens, leases, Talos events, progress, BMCs) into an empty PostgreSQL database, in one transaction. Stop the metalboot that uses --from first: a running one keeps writing, and what it writes after the copy starts stays behind (the copy is a snapshot)',
    )
    .requiredOption(
      '--from <file|url>',
      'the SQLite store (e.g. data/metalboot.db, or its data directory) or a postgres:// URL; opened read-only',
    )
    .addOption(
      new Option(
        '--to <url>',
        'postgres://user:password@host:port/database (or postgresql://…, ?sslmode=…); migrated first',
      )
        .env('METALBOOT_DATABASE')
        .makeOptionMandatory(),
    )
    .option('--force', "replace the target's content (it must otherwise be empty)")
    .addOption(output())
    .addHelpText(
      'after',
      '\nThe BMC passwords stay sealed with <data-dir>/secrets.key: give every instance that uses the copy the same secrets.key (and api-token).',
    )
    .action(async (o: { from: string; to: string; force?: boolean; output: string }) => {
      const to = postgresUrl(o.to, '--to');
      const from = /^[a-z][a-z0-9+.-]*:\/\//i.test(o.from) ? postgresUrl(o.from, '--from') : o.from;
      let summary: CopySummary;
      try {
        summary = await copyStore({ from, to, force: o.force });
      } catch (err) {
        throw cliError(err);
      }
      if (o.output === 'json') return printJson(summary);
      const width = Math.max(...summary.tables.map((t) => t.table.length));
      const total = summary.tables.reduce((n, t) => n + t.rows, 0);
      process.stdout.write(
        [
          `copied ${summary.from} → PostgreSQL at ${summary.to}${summary.replaced ? ` (replaced ${summary.replaced} row(s))` : ''}`,
          ...summary.tables.map((t) => `  ${t.table.padEnd(width)}  ${t.rows}`),
          `  ${'total'.padEnd(width)}  ${total}`,
          '',
        ].join('\n'),
      );
    });

  db.command('migrate')
    .summary("bring the store's schema up to date without starting the server")
    .description(
      "bring the store's schema up to date (what serve does at start) without starting the server: PostgreSQL with --database, else SQLite in <data-dir>/metalboot.db",
    )
    .addOption(new Option('--database <url>', 'postgres://… (as for serve)').env('METALBOOT_DATABASE'))
    .addOption(
      new Option('--data-dir <dir>', 'SQLite: the data directory (as for serve)')
        .env('METALBOOT_DATA_DIR')
        .default('data'),
    )
    .addOption(configOption())
    .addOption(output())
    .action(async (_o: unknown, self: Command) => {
      fillFromSettingsFile(self, loadSettingsFile(self.opts<{ config?: string }>().config, SERVE_SETTING_KEYS));
      const o = self.opts<{ database?: string; dataDir: string; output: string }>();
      let result: MigrateResult;
      try {
        result = o.database?.trim()
          ? await migratePostgresUrl(postgresUrl(o.database, '--database'))
          : migrateSqliteFile(join(o.dataDir, 'metalboot.db'));
      } catch (err) {
        throw cliError(err);
      }
      if (o.output === 'json') return printJson(result);
      const engine = result.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL at';
      process.stdout.write(
        result.before === result.after
          ? `${engine} ${result.where}: schema version ${result.after}, up to date\n`
          : `${engine} ${result.where}: schema version ${result.before} → ${result.after}\n`,
      );
    });
  return db;
}
