import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, serve } from '../helpers/cli-run.js';
import { freePort } from '../helpers/spawn-server.js';

t.test('exit codes and hints when the server cannot be used', async (t) => {
  const port = await freePort();
  const down = await runCli(['machine', 'list', '--server', `http://127.0.0.1:${port}`, '--token', 'x'.repeat(20)]);
  t.equal(down.code, 4, 'unreachable');
  t.match(down.stderr, `error: cannot reach metalboot at http://127.0.0.1:${port}: connection refused`);
  t.match(down.stderr, /hint: is `metalboot serve` running there\? Point --server \(METALBOOT_SERVER\) at it/);

  const s = await serve(t);
  const wrong = await runCli(['cluster', 'list', '--token', 'not-the-token-0123456789'], { METALBOOT_SERVER: s.url });
  t.equal(wrong.code, 4, 'token refused');
  t.match(wrong.stderr, /refused the API token/);
  t.match(wrong.stderr, /hint: use the token of that server/);

  const dir = t.testdir({});
  const noToken = await runCli(['cluster', 'list', '--data-dir', join(dir, 'data')], { METALBOOT_SERVER: s.url });
  t.equal(noToken.code, 4);
  t.match(noToken.stderr, /no API token: .*data\/api-token does not exist/);

  // The token file is found through --data-dir / METALBOOT_DATA_DIR, as serve writes it.
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'api-token'), `${s.token}\n`, { mode: 0o600 });
  const viaFile = await runCli(['cluster', 'list', '-o', 'json'], {
    METALBOOT_SERVER: s.url,
    METALBOOT_DATA_DIR: join(dir, 'data'),
  });
  t.equal(viaFile.code, 0, viaFile.stderr);
  t.same(JSON.parse(viaFile.stdout), []);

  const badUrl = await runCli(['cluster', 'list', '--server', 'ftp://x', '--token', 'x'.repeat(20)]);
  t.equal(badUrl.code, 1);
  t.match(badUrl.stderr, /--server must be http/);
  const badOutput = await runCli(['cluster', 'list', '-o', 'yaml'], s.env);
  t.equal(badOutput.code, 1);
  t.match(badOutput.stderr, /argument 'yaml' is invalid/);
  const unknownCommand = await runCli(['clustr', 'list']);
  t.equal(unknownCommand.code, 1);
  t.match(unknownCommand.stderr, /unknown command 'clustr'/);
  const version = await runCli(['--version']);
  t.match(version.stdout, /^\d+\.\d+\.\d+/);
});
