#!/usr/bin/env node
/**
 * The `metalboot` command. Each group lives in commands/; this file wires them together and turns
 * every failure into a message on stderr plus a meaningful exit code (errors.ts lists them).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { AssetError } from '../assets/errors.js';
import { assetErrorToCli, assetsCommand } from './commands/assets.js';
import { clusterCommand } from './commands/cluster.js';
import { dbCommand } from './commands/db.js';
import { applyCommand, diffCommand } from './commands/fleet.js';
import { exportCommand } from './commands/fleet-export.js';
import { doctorCommand } from './commands/doctor.js';
import { machineCommand } from './commands/machine.js';
import { serveCommand } from './commands/serve.js';
import { CliError, EXIT } from './errors.js';
import { endProgressLine } from './progress.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('metalboot')
  .description('Network-boot provisioning for bare-metal Talos Linux clusters')
  .version(pkg.version)
  // Subcommands own their options: without this, `assets pull talos --version v1.13.9` would
  // print metalboot's version, and a program-wide option would shadow serve's --data-dir.
  .enablePositionalOptions()
  .showHelpAfterError('(add --help for usage)')
  .addCommand(serveCommand())
  .addCommand(clusterCommand())
  .addCommand(machineCommand())
  .addCommand(applyCommand())
  .addCommand(diffCommand())
  .addCommand(exportCommand())
  .addCommand(assetsCommand())
  .addCommand(doctorCommand())
  .addCommand(dbCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err instanceof AssetError ? assetErrorToCli(err) : err;
  endProgressLine(); // a download bar may be mid-line: the error starts on a line of its own
  if (e instanceof CliError) {
    process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
    process.exitCode = e.exitCode;
  } else {
    // A bug or an unexpected system error: say so plainly, with the stack for the report.
    process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT.failed;
  }
}
