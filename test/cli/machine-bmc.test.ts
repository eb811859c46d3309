/** `metalboot machine bmc`: set, show, remove a BMC; the password from a file, never from argv. */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBmcUrl } from '../../src/cli/commands/machine-bmc.js';
import { VERSION } from '../helpers/asset-mirror.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';

const MAC = '52:54:00:12:34:57';

t.test('BMC URLs: driver, user, address; a password in the URL is refused', async (t) => {
  t.same(parseBmcUrl('ipmi://admin@10.0.0.21:623'), { driver: 'ipmi', username: 'admin', address: '10.0.0.21:623' });
  t.same(parseBmcUrl('redfish://root@[fd00::21]:8443/'), {
    driver: 'redfish',
    username: 'root',
    address: '[fd00::21]:8443',
  });
  t.throws(() => parseBmcUrl('ipmi://admin:secret@10.0.0.21'), /--password-file/);
  t.throws(() => parseBmcUrl('ssh://admin@10.0.0.21'), /not a BMC URL/);
  t.throws(() => parseBmcUrl('ipmi://10.0.0.21'), /not a BMC URL/);
});

t.test('machine bmc: set from a password file, show, remove', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env)).code, 0);
  t.equal(
    (await runCli(['machine', 'add', MAC, '--hostname', 'w-7', '--role', 'worker', '--cluster', 'prod'], s.env)).code,
    0,
  );
  const none = await runCli(['machine', 'bmc', MAC], s.env);
  t.equal(none.code, 2, 'no BMC yet');
  t.match(none.stderr, /has no BMC/);
  const noPassword = await runCli(['machine', 'bmc', MAC, 'ipmi://admin@10.0.0.21:623'], s.env);
  t.equal(noPassword.code, 1, 'a password is required');
  t.match(noPassword.stderr, /--password-file/);
  const file = join(s.dir, 'bmc-password');
  writeFileSync(file, 'cli-S3cret\n', { mode: 0o600 });
  const set = await runCli(['machine', 'bmc', MAC, 'ipmi://admin@10.0.0.21:623', '--password-file', file], s.env);
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, /driver:\s+ipmi[\s\S]*address:\s+10\.0\.0\.21:623[\s\S]*username:\s+admin/);
  t.notMatch(set.stdout + set.stderr, 'cli-S3cret');
  const shown = await runCli(['machine', 'bmc', MAC, '-o', 'json'], s.env);
  t.match(JSON.parse(shown.stdout), { driver: 'ipmi', address: '10.0.0.21:623', username: 'admin' });
  t.notMatch(shown.stdout, 'cli-S3cret');
  const removed = await runCli(['machine', 'bmc', MAC, '--remove'], s.env);
  t.equal(removed.code, 0, removed.stderr);
  t.equal((await runCli(['machine', 'bmc', MAC], s.env)).code, 2, 'gone');
});
