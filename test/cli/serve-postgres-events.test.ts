/**
 * Two `metalboot serve` processes (the built CLI) on one PostgreSQL database: what one instance
 * writes to the timeline streams live from the other's `GET /api/v1/events/stream` (LISTEN/NOTIFY,
 * src/store/postgres/event-feed.ts); a reconnect with Last-Event-ID replays exactly what was missed;
 * the listening connection killed by the server is replaced and the stream goes on; each instance's
 * /metrics counts only what it did; the Talos event sink and kernel-log listener of one instance
 * attribute a node by the address another instance registered. Without PostgreSQL the file skips visibly; under CI it fails.
 */
import t from 'tap';
import pg from 'pg';
import { request } from 'node:http';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { ipxeBoot, runCli, type Served, serve, talosctlOutput, waitFor } from '../helpers/cli-run.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';
import { eventually, freshInstall, kmsgClient, kmsgLine, TalosStandIn } from '../helpers/talos-standin.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const MAC = '52:54:00:15:01:01';
/** A MAC nobody registered: its /ipxe is a discovery, a new event each time a new one asks. */
const unknown = (n: number) => `52:54:00:15:02:${n.toString(16).padStart(2, '0')}`;

interface Sse {
  id: number | undefined;
  event: string;
  data: { id: number; mac: string; kind: string; repeats?: number };
}

/** An open event stream on an instance: what arrived so far, parsed. */
async function stream(s: Served, lastEventId?: number) {
  const ctl = new AbortController();
  const res = await fetch(`${s.url}/api/v1/events/stream`, {
    headers: {
      authorization: `Bearer ${s.token}`,
      ...(lastEventId !== undefined ? { 'last-event-id': String(lastEventId) } : {}),
    },
    signal: ctl.signal,
  });
  if (res.status !== 200) throw new Error(`stream: HTTP ${res.status}`);
  const got: Sse[] = [];
  let buffer = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(block)?.[1];
        const event = field('event');
        if (event) {
          const id = field('id');
          got.push({ id: id === undefined ? undefined : Number(id), event, data: JSON.parse(field('data')!) });
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => undefined);
  return {
    got,
    events: () => got.filter((e) => e.event === 'machine-event'),
    close: async () => {
      ctl.abort();
      await reading;
    },
  };
}

/** A GET from another loopback address (a second source), its status. */
function getFrom(localAddress: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const increasing = (ids: number[]) => ids.every((id, i) => i === 0 || id > ids[i - 1]!);

t.test('postgres', { skip: missing }, async (t) => {
  const server = await startPostgres(t);

  t.test(
    'two instances on one database: B’s events stream live from A, replay exact, listener lost and back',
    async (t) => {
      const url = await server.createDatabase();
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      t.teardown(() => db.end());
      const storedAfter = async (id: number) =>
        (await db.query<{ id: string }>('SELECT id FROM machine_events WHERE id > $1 ORDER BY id', [id])).rows.map(
          (r) => Number(r.id),
        );
      const a = await serve(t, { args: ['--database', url] });
      const b = await serve(t, { args: ['--database', url] });

      const gen = talosctlOutput(join(a.dir, 'gen'));
      const created = await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], a.env);
      t.equal(created.code, 0, created.stderr);
      const live = await stream(a);
      const added = await runCli(
        ['machine', 'add', MAC, '--hostname', 'worker-1', '--role', 'worker', '--cluster', 'prod'],
        a.env,
      );
      t.equal(added.code, 0, added.stderr);

      // The install script from B (B writes its timeline events), the config from A with B's token.
      const script = await ipxeBoot(b.url, MAC);
      const configUrl = /https?:\/\/\S+\/config\/\S+/.exec(script)?.[0];
      t.ok(configUrl, 'B’s script names the config URL');
      const config = await fetch(configUrl!.replace(/^https?:\/\/[^/]+/, a.url));
      t.equal(config.status, 200, 'A serves the config for B’s token');
      t.match(await config.text(), 'hostname: worker-1');

      // Everything in the database so far, A's and B's, arrives on A's open stream, in order.
      const all = await storedAfter(0);
      await waitFor('A’s stream to carry every stored event', () => live.events().length >= all.length);
      const seen = live.events().map((e) => e.id!);
      t.same(seen, all, 'A streamed exactly the stored events: in id order, none twice, none missing');
      const kinds = live.events().map((e) => e.data.kind);
      t.ok(kinds.includes('config-delivered'), 'A’s own delivery is there');
      const scriptOnB = live.events().find((e) => e.data.mac === MAC && /script/.test(e.data.kind));
      t.ok(scriptOnB, `B’s script event reached A live (${kinds.join(', ')})`);

      // Per-process metrics: A served the config, B did not; neither counts the other's events.
      const metric = async (s: Served) =>
        Number(/^metalboot_config_deliveries_total (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1]);
      t.equal(await metric(a), 1, 'A counts its delivery');
      t.equal(await metric(b), 0, 'B does not count A’s delivery it streamed');

      // A second source asks B for the config A delivered: a conflict on B too (B heard of A's
      // delivery through the feed). Retried (bounded) until B has read the delivery's token.
      const conflicts = async (s: Served) =>
        Number(/^metalboot_config_conflicts_total (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1]);
      const configPath = new URL(configUrl!).pathname + new URL(configUrl!).search;
      for (let i = 0; i < 50 && (await conflicts(b)) === 0; i++) {
        await getFrom('127.0.0.2', b.port, configPath);
        await new Promise((r) => setTimeout(r, 100));
      }
      t.equal(await conflicts(b), 1, 'B counts the conflict over A’s delivery');
      const onB = JSON.parse((await runCli(['machine', 'events', MAC, '-o', 'json'], b.env)).stdout) as {
        kind: string;
        detail: Record<string, unknown>;
      }[];
      t.match(
        onB.find((e) => e.kind === 'config-conflict'),
        { detail: { deliveredTo: '127.0.0.1', route: '/config' } },
        'on the timeline, naming where A delivered it',
      );

      // A repeat on B (an identical discovery script within the minute) is a count, also on A: the
      // first request discovers the machine, the second and third get the same discovery script.
      for (let i = 0; i < 3; i++) await ipxeBoot(b.url, unknown(1));
      await waitFor('A to hear B’s repeat', () => live.got.some((e) => e.event === 'machine-event-repeated'));
      t.match(live.got.find((e) => e.event === 'machine-event-repeated')!.data, { mac: unknown(1), repeats: 2 });

      // Disconnect from A; both instances write on; reconnect with Last-Event-ID.
      await waitFor('the discovery to stream', () => live.events().some((e) => e.data.mac === unknown(1)));
      const last = live.events().at(-1)!.id!;
      await live.close();
      await ipxeBoot(b.url, unknown(2));
      await ipxeBoot(a.url, unknown(3));
      await ipxeBoot(b.url, unknown(4));
      const missed = await storedAfter(last);
      t.ok(missed.length >= 3, `events were written while no stream was open (${missed.length})`);
      const again = await stream(a, last);
      await waitFor('the replay', () => again.events().length >= missed.length);
      t.same(
        again.events().map((e) => e.id),
        missed,
        'the replay: exactly the missed ids, in order, from both instances',
      );

      // The listening connections killed by the server: each instance reconnects and reads on.
      const killed = await db.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
      );
      t.equal(killed.rowCount, 2, 'both instances’ listeners terminated');
      for (let n = 5; n < 8; n++) await ipxeBoot(b.url, unknown(n));
      const everything = await storedAfter(last);
      await waitFor('B’s events after the kill to reach A', () => again.events().length >= everything.length, 20_000);
      const ids = again.events().map((e) => e.id!);
      t.same(ids, everything, 'no gap and no duplicate across the lost connection');
      t.ok(increasing(ids), 'ids increasing');
      t.ok(
        again.events().some((e) => e.data.mac === unknown(7)),
        'the newest of B’s events arrived on A',
      );
      await again.close();
      t.equal(a.srv.child.exitCode, null, 'A still runs');
      t.equal(b.srv.child.exitCode, null, 'B still runs');
      t.match(a.srv.stdout() + a.srv.stderr(), /timeline events across instances/, 'A logged the lost listener');
    },
  );

  t.test('Talos reports to A about a machine registered on B are attributed by its address', async (t) => {
    const url = await server.createDatabase();
    const a = await serve(t, { args: ['--database', url] });
    const b = await serve(t, { args: ['--database', url] });
    const gen = talosctlOutput(join(b.dir, 'gen'));
    t.equal((await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], b.env)).code, 0);
    // Registered on B with its reserved address: the only thing A can know the node by.
    const added = await runCli(
      ['machine', 'add', MAC, '--hostname', 'worker-1', '--role', 'worker', '--cluster', 'prod', '--ip', '127.0.0.1'],
      b.env,
    );
    t.equal(added.code, 0, added.stderr);
    const script = await ipxeBoot(b.url, MAC);
    const configUrl = /https?:\/\/\S+\/config\/\S+/.exec(script)?.[0];
    t.equal((await fetch(configUrl!.replace(/^https?:\/\/[^/]+/, b.url))).status, 200, 'booted through B');

    const ready = JSON.parse(
      a.srv
        .stdout()
        .split('\n')
        .find((l) => l.includes('metalboot ready'))!,
    );
    const talos = new TalosStandIn(ready.events);
    t.teardown(() => talos.close());
    await talos.publishAll(freshInstall('worker-1', '127.0.0.1'));
    const state = async () => JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], b.env)).stdout).state;
    await eventually(async () => (await state()) === 'installed', 10_000);
    t.equal(await state(), 'installed', 'A’s event sink moved the machine B registered (seen from B)');

    const kmsg = await kmsgClient(Number(String(ready.kmsg).split(':').pop()));
    t.teardown(() => kmsg.destroy());
    await kmsg.send(kmsgLine('[talos] hello from worker-1'));
    const logs = async () =>
      (await (
        await fetch(`${a.url}/api/v1/machines/${MAC}/logs`, { headers: { authorization: `Bearer ${a.token}` } })
      ).json()) as {
        lines: { msg: string }[];
      };
    await eventually(async () => (await logs()).lines.length > 0, 10_000);
    t.same(
      (await logs()).lines.map((l) => l.msg),
      ['[talos] hello from worker-1'],
      'A’s kernel-log listener filed the line under the machine',
    );
  });
});
