/**
 * Local files: the API token and the database guard the clusters' secrets (machine configs hold
 * CA keys), so who can read them matters as much as whether they exist; the iPXE templates must
 * compile or serve will not start.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadTemplates } from '../core/boot/templates.js';
import type { DoctorSettings } from './settings.js';
import type { Check } from './types.js';

const mode = (m: number) => `0${(m & 0o777).toString(8)}`;

export function fileChecks(s: DoctorSettings, tokenFromEnv: boolean): Check[] {
  const checks: Check[] = [];
  const add = (status: Check['status'], message: string, hint?: string) =>
    checks.push({ area: 'files', status, message, hint });
  const tokenFile = join(s.dataDir, 'api-token');

  if (tokenFromEnv) add('info', `API token from METALBOOT_API_TOKEN; ${tokenFile} is not used while it is set`);
  else {
    try {
      const st = statSync(tokenFile);
      const token = readFileSync(tokenFile, 'utf8').trim();
      if (st.mode & 0o077)
        add(
          'fail',
          `${tokenFile} is mode ${mode(st.mode)}: other users can read the admin token`,
          `chmod 600 ${tokenFile} (metalboot serve also repairs it on start)`,
        );
      else if (token.length < 16)
        add(
          'fail',
          `${tokenFile} holds a token shorter than 16 characters; serve refuses it`,
          'delete it to have a new one generated',
        );
      else add('ok', `${tokenFile}: mode ${mode(st.mode)}, owner uid ${st.uid}`);
      if (typeof process.getuid === 'function' && st.uid !== process.getuid() && process.getuid() !== 0) {
        add('info', `${tokenFile} belongs to uid ${st.uid}, not to you (${process.getuid()})`);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        add(
          'warn',
          `${tokenFile} does not exist yet`,
          'metalboot serve creates it (mode 0600) on first start, or set METALBOOT_API_TOKEN',
        );
      else
        add(
          'fail',
          `cannot read ${tokenFile}: ${code ?? (err as Error).message}`,
          'run doctor as the user that runs metalboot serve',
        );
    }
  }

  // The database holds every cluster's base configs; SQLite creates it with the umask (often 0644).
  try {
    const dir = statSync(s.dataDir);
    const dbFiles = readdirSync(s.dataDir).filter((f) => f.startsWith('metalboot.db'));
    const exposed = dbFiles.filter((f) => statSync(join(s.dataDir, f)).mode & 0o004);
    if (dir.mode & 0o005 && exposed.length) {
      add(
        'warn',
        `${s.dataDir} (mode ${mode(dir.mode)}) lets other users read ${exposed.join(', ')}, which hold the clusters' secrets`,
        `chmod 700 ${s.dataDir}`,
      );
    } else if (dbFiles.length) add('ok', `${s.dataDir}: the database is not readable by other users`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      add('info', `${s.dataDir} does not exist yet; metalboot serve creates it`);
    else add('warn', `cannot inspect ${s.dataDir}: ${(err as Error).message}`);
  }

  try {
    loadTemplates(s.templatesDir);
    add('ok', `iPXE templates in ${s.templatesDir}/ipxe compile`);
  } catch (err) {
    add('fail', (err as Error).message, 'metalboot serve will not start until the templates compile');
  }
  return checks;
}
