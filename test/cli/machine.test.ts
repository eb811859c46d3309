import t from 'tap';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { ipxeBoot, runCli, serve, spawnCli, talosctlOutput, waitFor } from '../helpers/cli-run.js';
import { startCli } from '../helpers/spawn-server.js';

const MAC = '52:54:00:12:34:56';

t.test('machine add|list|show|edit|reimage|rm, and accepting a discovered machine', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env)).code, 0);
  writeFileSync(join(s.dir, 'labels.yaml'), 'machine:\n  nodeLabels:\n    rack: "{{machine.labels.rack}}"\n');

  const added = await runCli(
    [
      'machine',
      'add',
      '52-54-00-12-34-56',
      '--hostname',
      'worker-1',
      '--role',
      'worker',
      '--cluster',
      'prod',
      '--install-disk',
      '/dev/sda',
      '--label',
      'rack=r1',
      '--patch',
      `@${join(s.dir, 'labels.yaml')}`,
    ],
    s.env,
  );
  t.equal(added.code, 0, added.stderr);
  t.match(added.stdout, `machine ${MAC} (worker-1) registered: worker of prod, state registered`);
  const dup = await runCli(['machine', 'add', MAC, '--hostname', 'x', '--role', 'worker', '--cluster', 'prod'], s.env);
  t.equal(dup.code, 3);
  t.match(dup.stderr, /hint: change it with `metalboot machine edit/);
  const incomplete = await runCli(['machine', 'add', MAC, '--role', 'worker'], s.env);
  t.equal(incomplete.code, 1);
  t.match(incomplete.stderr, /machine add needs --hostname, --cluster/);
  const invalid = await runCli(
    ['machine', 'add', '52:54:00:00:00:09', '--hostname', 'Not_Valid', '--role', 'worker', '--cluster', 'prod'],
    s.env,
  );
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /not a valid RFC 1123 host name .* \(field: hostname\)/);

  // An unknown machine boots: discovered, then accepted with `machine add`.
  await ipxeBoot(s.url, '52:54:00:aa:bb:cc');
  const discovered = await runCli(['machine', 'list', '--state', 'discovered'], s.env);
  t.match(discovered.stdout, /52:54:00:aa:bb:cc\s+-\s+-\s+-\s+discovered\s+\d+s\s+127\.0\.0\.1\s+amd64\/efi/);
  const accepted = await runCli(
    [
      'machine',
      'add',
      '52:54:00:aa:bb:cc',
      '--hostname',
      'worker-2',
      '--role',
      'worker',
      '--cluster',
      'prod',
      '--disk-selector',
      '{size: ">= 10GB"}',
    ],
    s.env,
  );
  t.equal(accepted.code, 0, accepted.stderr);
  t.match(accepted.stderr, /it was discovered before; its timeline is kept/);

  const list = await runCli(['machine', 'list', '--cluster', 'prod'], s.env);
  t.match(list.stdout, /MAC\s+HOSTNAME\s+ROLE\s+CLUSTER\s+STATE\s+IN STATE\s+IP\s+FIRMWARE\s+LAST SEEN/);
  t.match(list.stdout, new RegExp(`${MAC}\\s+worker-1\\s+worker\\s+prod\\s+registered`));
  t.same(
    JSON.parse((await runCli(['machine', 'list', '--label', 'rack=r1', '-o', 'json'], s.env)).stdout).map(
      (m: { hostname: string }) => m.hostname,
    ),
    ['worker-1'],
  );
  t.match((await runCli(['machine', 'list', '--state', 'joined'], s.env)).stderr, /no machines match/);

  await ipxeBoot(s.url, MAC);
  const show = await runCli(['machine', 'show', MAC], s.env);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /state:\s+pxe-booting \(for \d+s\)/);
  t.match(show.stdout, /labels:\s+rack=r1/);
  t.match(show.stdout, /last seen:\s+\S+ from 127\.0\.0\.1 \(amd64\/efi\)/);
  t.match(
    show.stdout,
    /recent events .*\n .* registered .*\n .* machine-script\s+→ pxe-booting\s+127\.0\.0\.1\s+script=install talosVersion=v1\.13\.9/,
  );
  t.match(show.stdout, /stalls at:\s+\S+ if still pxe-booting/, 'where it is and why, from the progress view');
  t.match(JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], s.env)).stdout), {
    mac: MAC,
    installDisk: '/dev/sda',
    progress: { state: 'pxe-booting', unmetConditions: [] },
  });

  const edited = await runCli(
    [
      'machine',
      'edit',
      MAC,
      '--hostname',
      'worker-01',
      '--label',
      'zone=a',
      '--remove-label',
      'rack',
      '--clear-patches',
      '--boot-file',
      'snponly.efi',
    ],
    s.env,
  );
  t.equal(edited.code, 0, edited.stderr);
  const after = JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], s.env)).stdout);
  t.match(after, { hostname: 'worker-01', labels: { zone: 'a' }, patches: [], bootFile: 'snponly.efi' });
  t.notOk('rack' in after.labels);
  t.equal((await runCli(['machine', 'edit', MAC, '--no-boot-file', '--installed'], s.env)).code, 0);
  t.match(JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], s.env)).stdout), {
    bootFile: null,
    installed: true,
    state: 'installed',
  });
  const nothing = await runCli(['machine', 'edit', MAC], s.env);
  t.equal(nothing.code, 1);
  t.match(nothing.stderr, /nothing to change/);

  const reimage = await runCli(['machine', 'reimage', MAC, '--wipe', 'disk'], s.env);
  t.equal(reimage.code, 0, reimage.stderr);
  t.match(reimage.stdout, /reimage requested for 52:54:00:12:34:56 \(wipe disk\)/);
  t.match(JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], s.env)).stdout), {
    state: 'reimage-requested',
    reimage: { wipe: 'disk' },
  });
  const cancel = await runCli(['machine', 'reimage', MAC, '--cancel'], s.env);
  t.equal(cancel.code, 0, cancel.stderr);
  t.match(cancel.stdout, `reimage of ${MAC} canceled: state installed`);
  t.equal((await runCli(['machine', 'reimage', MAC], s.env)).code, 0);

  t.equal((await runCli(['machine', 'rm', MAC], s.env)).code, 0);
  const gone = await runCli(['machine', 'show', MAC], s.env);
  t.equal(gone.code, 2);
  t.match(gone.stderr, /hint: see the machines with `metalboot machine list`/);
  t.equal((await runCli(['machine', 'delete', MAC], s.env)).code, 2, '`delete` is an alias of rm');
});

t.test('machine events: history, JSON, and --follow until a state is reached', async (t) => {
  const s = await serve(t);
  const gen = talosctlOutput(join(s.dir, 'gen'));
  await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], s.env);
  await runCli(['machine', 'add', MAC, '--hostname', 'w1', '--role', 'worker', '--cluster', 'prod'], s.env);

  const follow = spawnCli(
    t,
    ['machine', 'events', MAC, '--follow', '--until', 'pxe-booting', '--interval', '0.2'],
    s.env,
  );
  await waitFor('the registered event', () => follow.stdout().includes('registered'));
  await ipxeBoot(s.url, MAC);
  t.equal(await follow.exited, 0, 'exits once the machine reached the state');
  t.match(follow.stdout(), /registered[\s\S]*machine-script\s+→ pxe-booting/);

  const history = await runCli(['machine', 'events', MAC, '-o', 'json'], s.env);
  const events = JSON.parse(history.stdout);
  t.same(
    events.map((e: { kind: string }) => e.kind),
    ['registered', 'machine-script'],
  );
  const later = await runCli(['machine', 'events', MAC, '--after', String(events[0].id)], s.env);
  t.equal(later.stdout.trim().split('\n').length, 1);
  t.match(later.stdout, /machine-script/);

  // NDJSON while following, and Ctrl-C ends it cleanly.
  const nd = spawnCli(t, ['machine', 'events', MAC, '--follow', '-o', 'json', '--interval', '0.2'], s.env);
  await waitFor('two JSON lines', () => nd.stdout().trim().split('\n').length >= 2);
  t.match(JSON.parse(nd.stdout().split('\n')[1]!), { kind: 'machine-script', state: 'pxe-booting' });
  await ipxeBoot(s.url, MAC); // the same boot again: a live repeat of the last event, from the stream
  await waitFor('the live JSON line', () => nd.stdout().trim().split('\n').length >= 3);
  const lines = nd
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const shape = ['at', 'detail', 'id', 'kind', 'mac', 'sourceIp', 'state'];
  t.same(
    lines.slice(0, 2).map((l) => Object.keys(l).sort()),
    [shape, shape],
    'past events have one shape',
  );
  t.same(
    Object.keys(lines[2]!).sort(),
    [...shape, 'lastAt', 'repeats'].sort(),
    'a repeat is that shape plus its count',
  );
  t.match(
    lines[2],
    { mac: MAC, id: lines[1]!.id, kind: 'machine-script', repeats: 2 },
    'the second identical boot: the last event, counted twice',
  );
  nd.child.kill('SIGINT');
  t.equal(await nd.exited, 0);

  const unknown = await runCli(['machine', 'events', '52:54:00:ff:ff:ff'], s.env);
  t.equal(unknown.code, 2);

  // The server restarts while someone follows: they miss nothing.
  const watching = spawnCli(t, ['machine', 'events', MAC, '--follow', '--interval', '0.2'], s.env);
  await waitFor('the history', () => watching.stdout().includes('machine-script'));
  s.srv.child.kill('SIGTERM');
  await s.srv.exited;
  await waitFor('the reconnect note', () => watching.stderr().includes('reconnecting'));
  const again = await startCli(t, ['serve', '--listen', `127.0.0.1:${s.port}`, '--tftp-listen', 'off'], {
    METALBOOT_DATA_DIR: s.dataDir,
    METALBOOT_ASSETS_DIR: s.assetsDir,
    METALBOOT_API_TOKEN: s.token,
  });
  t.teardown(() => again.child.kill('SIGTERM'));
  await waitFor('following again', () => watching.stderr().includes('following again'));
  await runCli(['machine', 'reimage', MAC], s.env);
  await waitFor('the event after the restart', () => watching.stdout().includes('reimage-requested'));
  const scriptLines = watching
    .stdout()
    .split('\n')
    .filter((l) => l.includes('machine-script'));
  t.equal(scriptLines.length, 1, 'history (two identical boots, one event) not repeated');
  t.match(scriptLines[0], /\(×2 until /, 'shown with its count');
  watching.child.kill('SIGINT');
  t.equal(await watching.exited, 0);
});

t.test('machine events --follow polls a server without the event stream', async (t) => {
  const event = (id: number, kind: string, state: string | null) => ({
    id,
    at: `2026-11-25T10:00:0${id}Z`,
    kind,
    detail: {},
    sourceIp: null,
    state,
  });
  const asked: string[] = [];
  const api = createServer((req, res) => {
    asked.push(req.url ?? '');
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url?.startsWith('/api/v1/events/stream'))
      return json(404, { error: 'not_found', message: 'no route for GET /api/v1/events/stream' });
    if (req.url?.includes('/events?')) {
      const after = /after=(\d+)/.exec(req.url)?.[1];
      const n = asked.filter((u) => u.includes('/events?')).length;
      if (!after) return json(200, [event(1, 'registered', 'registered')]);
      return json(200, n >= 3 ? [event(2, 'machine-joined', 'joined')] : []);
    }
    return json(200, { mac: MAC, state: 'registered' });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => api.close(() => r())));
  const url = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  const r = await runCli([
    'machine',
    'events',
    MAC,
    '--follow',
    '--until',
    'joined',
    '--interval',
    '0.1',
    '--server',
    url,
    '--token',
    't'.repeat(20),
  ]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /registered[\s\S]*machine-joined\s+→ joined/);
  t.ok(
    asked.some((u) => /events\?limit=1000&after=1$/.test(u)),
    'asked only for what is new',
  );
});

t.test('machine wake sends POST /machines/:mac/power {action: on} with the token', async (t) => {
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
  const api = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ driver: 'wol', detail: { broadcast: '10.0.0.255:9' } }));
    });
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => api.close(() => r())));
  const url = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  const r = await runCli(['machine', 'wake', MAC, '--server', url, '--token', 'wake-token-0123456789'], {});
  t.equal(r.code, 0, r.stderr);
  t.same(seen, [
    {
      method: 'POST',
      url: `/api/v1/machines/${encodeURIComponent(MAC)}/power`,
      auth: 'Bearer wake-token-0123456789',
      body: '{"action":"on"}',
    },
  ]);
  t.match(r.stdout, `power on sent to ${MAC} via wol (broadcast=10.0.0.255:9); its timeline shows whether it boots`);

  // The real server: power control is only there when serve was told how (Wake-on-LAN settings).
  const s = await serve(t);
  await runCli(
    ['cluster', 'create', 'prod', '--from', talosctlOutput(join(s.dir, 'gen')), '--talos-version', VERSION],
    s.env,
  );
  await runCli(['machine', 'add', MAC, '--hostname', 'w1', '--role', 'worker', '--cluster', 'prod'], s.env);
  const real = await runCli(['machine', 'wake', MAC], s.env);
  if (real.code === 0) t.match(real.stdout, `power on sent to ${MAC}`);
  else {
    t.equal(real.code, 3, real.stderr);
    t.match(real.stderr, /power control is not configured[\s\S]*hint: power the machine on by hand/);
  }
  t.equal((await runCli(['machine', 'wake', '52:54:00:00:00:77'], s.env)).code, 2, 'unknown machine');
});

t.test(
  "machine list follows next to the end, or stops at --limit; an old server's plain array is one page",
  async (t) => {
    const all = Array.from({ length: 2500 }, (_, i) => ({
      mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
      state: 'discovered',
      stateChangedAt: '2026-11-25T10:00:00Z',
      lastSeen: {},
      labels: {},
    }));
    const asked: string[] = [];
    let paged = true;
    const api = createServer((req, res) => {
      asked.push(req.url ?? '');
      const u = new URL(req.url ?? '/', 'http://x');
      const limit = Number(u.searchParams.get('limit') ?? 100);
      const start = Number(u.searchParams.get('cursor') ?? 0);
      const items = all.slice(start, start + limit);
      const body = paged ? { items, next: start + limit < all.length ? String(start + limit) : null } : all.slice(0, 3);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => api.close(() => r())));
    const flags = [
      '--server',
      `http://127.0.0.1:${(api.address() as { port: number }).port}`,
      '--token',
      't'.repeat(20),
      '-o',
      'json',
    ];
    const everything = await runCli(['machine', 'list', '--state', 'discovered', ...flags]);
    t.equal(everything.code, 0, everything.stderr);
    t.same(
      JSON.parse(everything.stdout).map((m: { mac: string }) => m.mac),
      all.map((m) => m.mac),
      'all 2,500, in order, each once',
    );
    t.same(
      asked,
      [
        '/api/v1/machines?state=discovered&limit=1000',
        '/api/v1/machines?state=discovered&limit=1000&cursor=1000',
        '/api/v1/machines?state=discovered&limit=1000&cursor=2000',
      ],
      'three pages of 1,000',
    );
    asked.length = 0;
    const some = await runCli(['machine', 'list', '--limit', '1500', ...flags]);
    t.equal(JSON.parse(some.stdout).length, 1500);
    t.same(
      asked,
      ['/api/v1/machines?limit=1000', '/api/v1/machines?limit=500&cursor=1000'],
      'asks for no more than it shows',
    );
    t.equal((await runCli(['machine', 'list', '--limit', '0', ...flags])).code, 1, '--limit 0 is a usage error');
    paged = false;
    t.equal(
      JSON.parse((await runCli(['machine', 'list', ...flags])).stdout).length,
      3,
      'a server from before pagination',
    );
  },
);
