// metalboot apply / diff / export against a running server, from a fleet file beside talosctl's output.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';

const FLEET = `kind: Cluster
name: prod
talosVersion: ${VERSION}
controlplane: {file: _out/controlplane.yaml}
worker: {file: _out/worker.yaml}
patches: [{file: patches/ntp.yaml}]
---
kind: Machine
mac: 52:54:00:12:34:56
hostname: cp-1
role: controlplane
cluster: prod
installDisk: /dev/sda
---
kind: Machine
mac: 52:54:00:12:34:57
hostname: worker-1
role: worker
cluster: prod
labels: {rack: r1}
`;

t.test('apply, apply again, diff, export → apply, edits, refusals, prune', async (t) => {
  const s = await serve(t);
  talosctlOutput(join(s.dir, '_out'));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(s.dir, 'patches'));
  writeFileSync(join(s.dir, 'patches/ntp.yaml'), 'machine:\n  time:\n    servers: [time.example.com]\n');
  writeFileSync(join(s.dir, 'fleet.yaml'), FLEET);
  const cli = (...args: string[]) => runCli(args, s.env, { cwd: s.dir });

  const first = await cli('apply', '-f', 'fleet.yaml');
  t.equal(first.code, 0, first.stderr);
  t.equal(
    first.stdout,
    '+ cluster prod\n+ machine cp-1\n+ machine worker-1\n3 created, 0 changed, 0 deleted, 0 unchanged\n',
  );
  t.match(
    first.stderr,
    /warning: cluster prod: no Talos v1\.13\.9 amd64 boot files .*metalboot assets pull talos --version v1\.13\.9/,
  );
  const shown = JSON.parse((await cli('machine', 'show', '52:54:00:12:34:57', '-o', 'json')).stdout);
  t.match(shown, { hostname: 'worker-1', cluster: 'prod', labels: { rack: 'r1' } });

  const again = await cli('apply', '-f', 'fleet.yaml');
  t.equal(again.code, 0, again.stderr);
  t.equal(again.stdout, '0 created, 0 changed, 0 deleted, 3 unchanged\n', 'idempotent');
  const same = await cli('diff', '-f', 'fleet.yaml');
  t.equal(same.code, 0, 'diff: nothing to do is exit 0');
  t.match(same.stdout, /0 created, 0 changed, 0 deleted, 3 unchanged \(dry run: nothing written\)/);

  // export: the bases as files next to the fleet file; applying it back changes nothing.
  const noSecrets = await cli('export');
  t.equal(noSecrets.code, 1, 'bases hold secrets: export asks where they go');
  t.match(noSecrets.stderr, /hint: `--dir <dir>` writes them as files/);
  const exp = await cli('export', '--dir', 'exported');
  t.equal(exp.code, 0, exp.stderr);
  const exported = readFileSync(join(s.dir, 'exported/fleet.yaml'), 'utf8');
  t.match(exported, /controlplane:\n {2}file: prod\/controlplane\.yaml/);
  t.match(exported, /BMCs \(their passwords never leave the\n# server/);
  t.notMatch(exported, /BEGIN|key:/i, 'no secrets in the fleet file itself');
  t.equal(
    readFileSync(join(s.dir, 'exported/prod/worker.yaml'), 'utf8'),
    readFileSync(join(s.dir, '_out/worker.yaml'), 'utf8'),
  );
  const back = await cli('diff', '-f', 'exported/fleet.yaml', '--prune');
  t.equal(back.code, 0, back.stdout + back.stderr);
  t.match(back.stdout, /^0 created, 0 changed, 0 deleted, 3 unchanged/);
  const inline = await cli('export', '--include-secrets');
  t.equal(inline.code, 0, inline.stderr);
  writeFileSync(join(s.dir, 'inline.yaml'), inline.stdout);
  t.match((await cli('diff', '-f', 'inline.yaml')).stdout, /^0 created, 0 changed/);

  // An edit: diff exits 1 and names the fields.
  writeFileSync(join(s.dir, 'fleet.yaml'), FLEET.replace('rack: r1', 'rack: r2'));
  const edited = await cli('diff', '-f', 'fleet.yaml');
  t.equal(edited.code, 1, 'diff: a change is exit 1');
  t.equal(
    edited.stdout,
    '~ machine worker-1: labels\n0 created, 1 changed, 0 deleted, 2 unchanged (dry run: nothing written)\n',
  );

  // One invalid patch refuses the whole file, naming it; nothing changed (the label edit included).
  writeFileSync(
    join(s.dir, 'bad.yaml'),
    `${FLEET.replace('rack: r1', 'rack: r2')}patches:\n  - inline: "machine: {kubelet: {extraArgs: {max-pods: 150}}}"\n`,
  );
  const bad = await cli('apply', '-f', 'bad.yaml');
  t.equal(bad.code, 1);
  t.match(bad.stderr, /error: bad\.yaml, document 3 \(Machine\), line 21: patches: .*max-pods/);
  t.equal(JSON.parse((await cli('machine', 'show', '52:54:00:12:34:57', '-o', 'json')).stdout).labels.rack, 'r1');

  for (const [text, re] of [
    [
      `${FLEET}---\nkind: Group\nname: rack1\n`,
      /fleet2\.yaml, document 4 \(Group\), line 22: kind Group is not supported yet/,
    ],
    [`${FLEET}---\nkind: Rack\n`, /document 4 \(Rack\), line 22: unknown kind "Rack"/],
    [`${FLEET}---\nkind: Machine\nmac: {oops\n`, /document 4, line 2\d: malformed YAML/],
    [
      FLEET.replace('_out/worker.yaml', '_out/wrker.yaml'),
      /document 1 \(Cluster\), line 5: file "_out\/wrker\.yaml" was not found/,
    ],
  ] as const) {
    writeFileSync(join(s.dir, 'fleet2.yaml'), text);
    const r = await cli('apply', '-f', 'fleet2.yaml');
    t.equal(r.code, 1, String(re));
    t.match(r.stderr, re);
  }

  // --prune: only with the flag.
  const added = await cli(
    'machine',
    'add',
    '52:54:00:00:00:03',
    '--hostname',
    'old-3',
    '--role',
    'worker',
    '--cluster',
    'prod',
  );
  t.equal(added.code, 0, added.stderr);
  const kept = await cli('apply', '-f', 'fleet.yaml');
  t.equal(kept.stdout, '~ machine worker-1: labels\n0 created, 1 changed, 0 deleted, 2 unchanged\n');
  t.match(kept.stderr, /the registry also holds 1 machine the file does not name \(left alone; --prune deletes them\)/);
  t.equal((await cli('machine', 'show', '52:54:00:00:00:03')).code, 0, 'still there without --prune');
  const pruned = await cli('apply', '-f', 'fleet.yaml', '--prune');
  t.equal(pruned.code, 0, pruned.stderr);
  t.equal(pruned.stdout, '- machine old-3\n0 created, 0 changed, 1 deleted, 3 unchanged\n');
  t.equal((await cli('machine', 'show', '52:54:00:00:00:03')).code, 2, 'deleted with --prune');
});
