/** What a new user tripped over in the trial of issue 16 (its "Gaps seen in the trial"), through the built CLI. */
import t from 'tap';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { runCli, serve, spawnCli, talosctlOutput, waitFor } from '../helpers/cli-run.js';

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
  const twin = await runCli(
    ['machine', 'add', '52:54:00:00:00:02', '--hostname', 'w-1', '--role', 'worker', '--cluster', 'prod'],
    s.env,
  );
  t.equal(twin.code, 3, 'a host name taken in the cluster is a conflict');
  t.match(twin.stderr, 'error: hostname w-1 is already used by 52:54:00:00:00:01 in cluster prod');
  const edit = await runCli(['machine', 'edit', '52:54:00:00:00:01', '--cluster', 'nope'], s.env);
  t.equal(edit.code, 2);
  t.match(edit.stderr, /hint: see the clusters with `metalboot cluster list`/, 'the cluster hint, not the machine one');
  const show = await runCli(['cluster', 'show', 'nope'], s.env);
  t.equal(show.code, 2);
});

t.test('cluster edit changes only the fields given; create and edit print the pull command', async (t) => {
  const s = await serve(t); // an empty assets directory: no Talos version is pulled
  const gen = talosctlOutput(join(s.dir, 'gen'));
  const created = await runCli(
    ['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION, '--patch', 'machine: {env: {A: b}}'],
    s.env,
  );
  t.equal(created.code, 0, created.stderr);
  t.match(created.stderr, `warning: no Talos ${VERSION} amd64 boot files on the server yet`);
  t.match(created.stderr, `\`metalboot assets pull talos --version ${VERSION}\``);

  const edited = await runCli(
    ['cluster', 'edit', 'prod', '--talos-version', 'v1.13.8', '--kernel-arg', 'console=ttyS0'],
    s.env,
  );
  t.equal(edited.code, 0, edited.stderr);
  t.equal(edited.stdout, 'cluster prod updated: talosVersion, kernelArgs\n');
  t.match(edited.stderr, '`metalboot assets pull talos --version v1.13.8`', 'the edit warns for its new version');
  const shown = JSON.parse((await runCli(['cluster', 'show', 'prod', '-o', 'json'], s.env)).stdout);
  t.match(shown, { talosVersion: 'v1.13.8', kernelArgs: ['console=ttyS0'], patches: [/env/], arch: 'amd64' });
  t.equal(shown.endpoint, 'https://base:6443', 'kept');

  const cleared = await runCli(['cluster', 'edit', 'prod', '--clear-patches', '--arch', 'arm64', '-o', 'json'], s.env);
  t.equal(cleared.code, 0, cleared.stderr);
  t.match(JSON.parse(cleared.stdout).cluster, { patches: [], arch: 'arm64', kernelArgs: ['console=ttyS0'] });

  const bad = await runCli(['cluster', 'edit', 'prod', '--patch', 'machine: [unclosed'], s.env);
  t.equal(bad.code, 1, 'the server refuses a broken patch');
  t.same(
    JSON.parse((await runCli(['cluster', 'show', 'prod', '-o', 'json'], s.env)).stdout).patches,
    [],
    'and nothing changed',
  );
  const nothing = await runCli(['cluster', 'edit', 'prod'], s.env);
  t.equal(nothing.code, 1);
  t.match(nothing.stderr, /nothing to change/);
  const both = await runCli(['cluster', 'edit', 'prod', '--patch', 'a: b', '--clear-patches'], s.env);
  t.equal(both.code, 1);
  const missingFile = await runCli(['cluster', 'edit', 'prod', '--from', join(s.dir, 'nowhere')], s.env);
  t.equal(missingFile.code, 1);
  t.match(missingFile.stderr, /nowhere\/controlplane\.yaml does not exist/);
  const unknown = await runCli(['cluster', 'edit', 'nope', '--talos-version', VERSION], s.env);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /error: cluster "nope" does not exist\nhint: see the clusters with `metalboot cluster list`/);
});

t.test('broadcast, multicast and all-zero MACs are refused at registration', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env)).code, 0);
  for (const [mac, what] of [
    ['ff:ff:ff:ff:ff:ff', 'the broadcast address'],
    ['01:00:5e:00:00:fb', 'a multicast address'],
    ['00-00-00-00-00-00', 'the all-zero address'],
  ]) {
    const r = await runCli(['machine', 'add', mac!, '--hostname', 'x', '--role', 'worker', '--cluster', 'prod'], s.env);
    t.equal(r.code, 1, mac!);
    t.match(r.stderr, `is ${what}`);
    t.match(r.stderr, /not a NIC's own address \(field: mac\)/);
  }
  t.same(JSON.parse((await runCli(['machine', 'list', '-o', 'json'], s.env)).stdout), [], 'none registered');
});

t.test('machine events --follow says when its machine is removed, and stops', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env)).code, 0);
  const mac = '52:54:00:00:04:01';
  const add = ['machine', 'add', mac, '--hostname', 'w-1', '--role', 'worker', '--cluster', 'prod'];
  t.equal((await runCli(add, s.env)).code, 0);

  const follow = spawnCli(t, ['machine', 'events', mac, '--follow', '--interval', '0.2'], s.env);
  await waitFor('the registered event', () => follow.stdout().includes('registered'));
  t.equal((await runCli(['machine', 'rm', mac], s.env)).code, 0);
  t.equal(await follow.exited, 0, 'following ends');
  t.match(follow.stdout(), /registered[\s\S]*removed\s+.*hostname=w-1 cluster=prod/);
  t.match(follow.stderr(), `machine ${mac} was removed from the registry; stopped following`);

  // Registered again: the old `removed` is history, following goes on; --until it never reaches is exit 2.
  t.equal((await runCli(add, s.env)).code, 0);
  const until = spawnCli(t, ['machine', 'events', mac, '--follow', '--until', 'installed', '--interval', '0.2'], s.env);
  await waitFor('the history', () => /removed[\s\S]*registered/.test(until.stdout())).catch((err) => {
    t.comment(until.stdout(), until.stderr());
    throw err;
  });
  t.equal(until.child.exitCode, null, 'still following after the old removal');
  t.equal((await runCli(['machine', 'rm', mac], s.env)).code, 0);
  t.equal(await until.exited, 2, 'the state it waited for will never come');
  t.equal((until.stdout().match(/^\S+\s+removed\s/gm) ?? []).length, 2, 'the second removal was seen live');
  t.match(until.stderr(), `error: machine ${mac} was removed from the registry before reaching installed`);
});
