import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FACTORY_CMDLINE, SCHEMATIC, VERSION } from '../helpers/asset-mirror.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';

t.test('cluster create|list|show|delete against a running server', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, '_out'));
  writeFileSync(join(s.dir, 'ntp.yaml'), 'machine:\n  time:\n    servers: [time.example.com]\n');

  const created = await runCli(
    [
      'cluster',
      'create',
      'prod',
      '--from',
      gen,
      '--talos-version',
      VERSION,
      '--patch',
      `@${join(s.dir, 'ntp.yaml')}`,
      '--patch',
      '{"machine": {"kubelet": {"extraArgs": {"v": "2"}}}}',
      '--kernel-arg',
      'net.ifnames=0',
    ],
    s.env,
  );
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, `cluster prod created: Talos ${VERSION} amd64, endpoint https://base:6443`);
  t.match(created.stderr, /warning: controlplane: persist: deprecated/, 'server warnings shown on stderr');
  t.match(created.stderr, /next: `metalboot machine add <mac> --cluster prod/);

  const dup = await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env);
  t.equal(dup.code, 3, 'conflict');
  t.match(dup.stderr, /hint: pick another name/);

  const list = await runCli(['cluster', 'list'], s.env);
  t.equal(list.code, 0, list.stderr);
  t.match(
    list.stdout,
    /NAME\s+TALOS\s+ARCH\s+SCHEMATIC\s+ENDPOINT\s+MACHINES\s+AGE\nprod\s+v1\.13\.9\s+amd64\s+-\s+https:\/\/base:6443\s+0/,
  );
  const json = JSON.parse((await runCli(['cluster', 'list', '-o', 'json'], s.env)).stdout);
  t.match(json, [
    {
      name: 'prod',
      talosVersion: VERSION,
      kernelArgs: ['net.ifnames=0'],
      patches: [/time\.example\.com/, /extraArgs/],
    },
  ]);

  const show = await runCli(['cluster', 'show', 'prod'], s.env);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /kernel args:\s+net\.ifnames=0/);
  t.match(show.stdout, /controlplane:\s+2 document\(s\)/);
  t.match(show.stdout, /patches:\s+0: machine:\n\s+1: \{"machine"/);
  t.match(show.stderr, /no machines in prod yet/);

  const machine = await runCli(
    ['machine', 'add', '52:54:00:00:00:01', '--hostname', 'cp-1', '--role', 'controlplane', '--cluster', 'prod'],
    s.env,
  );
  t.equal(machine.code, 0, machine.stderr);
  t.match(
    (await runCli(['cluster', 'show', 'prod'], s.env)).stdout,
    /52:54:00:00:00:01\s+cp-1\s+controlplane\s+registered/,
  );
  const inUse = await runCli(['cluster', 'delete', 'prod'], s.env);
  t.equal(inUse.code, 3);
  t.match(inUse.stderr, /still has 1 machine/);
  t.match(inUse.stderr, /hint: see them with `metalboot machine list --cluster prod`/);

  t.equal((await runCli(['machine', 'rm', '52:54:00:00:00:01'], s.env)).code, 0);
  const deleted = await runCli(['cluster', 'delete', 'prod', '-o', 'json'], s.env);
  t.equal(deleted.code, 0, deleted.stderr);
  t.same(JSON.parse(deleted.stdout), { deleted: 'prod' });
  const gone = await runCli(['cluster', 'show', 'prod'], s.env);
  t.equal(gone.code, 2, 'not found');
  t.match(gone.stderr, /error: cluster "prod" does not exist\nhint: see the clusters with `metalboot cluster list`/);
  t.match((await runCli(['cluster', 'list'], s.env)).stderr, /no clusters yet/);
});

t.test('cluster create: the files it needs, and what the server refuses', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  const missing = await runCli(
    ['cluster', 'create', 'prod', '--from', join(s.dir, 'nowhere'), '--talos-version', VERSION],
    s.env,
  );
  t.equal(missing.code, 1);
  t.match(missing.stderr, /control-plane config .*nowhere\/controlplane\.yaml does not exist/);
  const noVersion = await runCli(['cluster', 'create', 'prod', '--from', gen], s.env);
  t.equal(noVersion.code, 1);
  t.match(noVersion.stderr, /required option '--talos-version <version>' not specified/);
  const swapped = await runCli(
    [
      'cluster',
      'create',
      'prod',
      '--controlplane',
      join(gen, 'worker.yaml'),
      '--worker',
      join(gen, 'worker.yaml'),
      '--talos-version',
      VERSION,
    ],
    s.env,
  );
  t.equal(swapped.code, 1, 'HTTP 400 is a validation error');
  t.match(swapped.stderr, /machine\.type is "worker", expected "controlplane" \(field: controlplane\)/);
  const badPatch = await runCli(
    ['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION, '--patch', '@/nonexistent.yaml'],
    s.env,
  );
  t.equal(badPatch.code, 1);
  t.match(badPatch.stderr, /patch file \/nonexistent\.yaml does not exist/);
});

t.test('cluster create --schematic adopts the kernel arguments of a pulled cmdline-metal', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  const versionDir = join(s.assetsDir, 'talos', VERSION);
  mkdirSync(versionDir, { recursive: true });
  writeFileSync(join(versionDir, 'cmdline-metal-amd64'), `${FACTORY_CMDLINE}\n`);
  writeFileSync(
    join(versionDir, '.metalboot-assets.json'),
    JSON.stringify({ 'cmdline-metal-amd64': { source: 'factory', schematic: SCHEMATIC } }),
  );
  const env = { ...s.env, METALBOOT_ASSETS_DIR: s.assetsDir };
  const r = await runCli(
    [
      'cluster',
      'create',
      'edge',
      '--from',
      gen,
      '--talos-version',
      VERSION,
      '--schematic',
      SCHEMATIC,
      '--kernel-arg',
      'console=ttyS0',
      '-o',
      'json',
    ],
    env,
  );
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stderr,
    /adopted the schematic's kernel arguments from .*cmdline-metal-amd64: net\.ifnames=0 talos\.dashboard\.disabled=1/,
  );
  t.same(
    JSON.parse(r.stdout).cluster.kernelArgs,
    ['net.ifnames=0', 'talos.dashboard.disabled=1', 'console=ttyS0'],
    "schematic's first, --kernel-arg after (later wins)",
  );
  t.equal(JSON.parse(r.stdout).cluster.schematic, SCHEMATIC);

  const other = 'f'.repeat(64);
  const r2 = await runCli(
    ['cluster', 'create', 'edge2', '--from', gen, '--talos-version', VERSION, '--schematic', other, '-o', 'json'],
    env,
  );
  t.equal(r2.code, 0, r2.stderr);
  t.match(r2.stderr, /warning: no kernel arguments adopted from the schematic: .* belongs to schematic 376567988ad3/);
  t.same(JSON.parse(r2.stdout).cluster.kernelArgs, []);
  const r3 = await runCli(
    [
      'cluster',
      'create',
      'edge3',
      '--from',
      gen,
      '--talos-version',
      VERSION,
      '--schematic',
      SCHEMATIC,
      '--no-schematic-args',
      '-o',
      'json',
    ],
    env,
  );
  t.same(JSON.parse(r3.stdout).cluster.kernelArgs, []);
});
