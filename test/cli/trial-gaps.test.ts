/** What a new user tripped over in the trial of issue 16 (its "Gaps seen in the trial"), through the built CLI. */
import t from 'tap';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';

t.test('an unknown cluster is exit code 2 with a hint, for machine add and edit alike', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env)).code, 0);
  const add = await runCli(
    ['machine', 'add', '52:54:00:00:00:01', '--hostname', 'w-1', '--role', 'worker', '--cluster', 'prdo'],
    s.env,
  );
  t.equal(add.code, 2, 'not found, as README says');
  t.match(add.stderr, /error: cluster "prdo" does not exist\nhint: see the clusters with `metalboot cluster list`/);
  t.notOk(
    (await runCli(['machine', 'list', '-o', 'json'], s.env)).stdout.includes('52:54:00:00:00:01'),
    'nothing registered',
  );
  const ok = await runCli(
    ['machine', 'add', '52:54:00:00:00:01', '--hostname', 'w-1', '--role', 'worker', '--cluster', 'prod'],
    s.env,
  );
  t.equal(ok.code, 0, ok.stderr);
  const edit = await runCli(['machine', 'edit', '52:54:00:00:00:01', '--cluster', 'nope'], s.env);
  t.equal(edit.code, 2);
  t.match(edit.stderr, /hint: see the clusters with `metalboot cluster list`/, 'the cluster hint, not the machine one');
  const show = await runCli(['cluster', 'show', 'nope'], s.env);
  t.equal(show.code, 2);
});
