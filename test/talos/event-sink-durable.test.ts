import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqliteStore } from '../../src/store/sqlite/store.js';
import { startEventSink, silentLogger } from '../../src/talos/index.js';
import { makeApp } from '../helpers/core-app.js';
import { freePort, startCli } from '../helpers/spawn-server.js';
import { ev, eventually, TalosStandIn } from '../helpers/talos-standin.js';

const run = promisify(execFile);
const MAC = '52:54:00:d0:0a:01';
const EVENTS = 20;

t.test('a Publish is acknowledged only once the store says its writes are durable', async (t) => {
  const a = await makeApp(t);
  let flushCalls = 0;
  let release!: () => void;
  let fail!: (err: Error) => void;
  const durable = () => {
    flushCalls++;
    return new Promise<void>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
  };
  const sink = await startEventSink({
    host: '127.0.0.1',
    port: 0,
    progress: a.core.progress,
    flushed: durable,
    logger: silentLogger,
  });
  const talos = new TalosStandIn(sink.address);
  t.teardown(async () => {
    talos.close();
    await sink.close();
  });
  let acked = false;
  const publish = talos.publishAll([ev.sequence('install', 'START')]).then(() => (acked = true));
  await eventually(() => flushCalls === 1);
  t.equal(a.core.progress.counters.eventsReceived, 1, 'the event was applied');
  t.equal(acked, false, 'applied but not yet durable: no acknowledgement');
  release();
  await publish;
  t.equal(acked, true, 'durable: acknowledged');

  // A commit that fails: the client hears INTERNAL and sends the event again.
  const failed = talos.publishAll([ev.sequence('boot', 'START')]);
  await eventually(() => flushCalls === 2);
  fail(new Error('disk full'));
  await t.rejects(failed, { code: 13, details: 'event not stored; send it again' });
});

t.test('kill -9 right after the acknowledgement: every acknowledged event is in the store', async (t) => {
  const dir = t.testdir({});
  const dataDir = join(dir, 'data');
  const [port, eventsPort] = [await freePort(), await freePort()];
  const srv = await startCli(
    t,
    ['serve', '--listen', `127.0.0.1:${port}`, '--tftp-listen', 'off', '--events-listen', `127.0.0.1:${eventsPort}`],
    {
      METALBOOT_DATA_DIR: dataDir,
      METALBOOT_ASSETS_DIR: join(dir, 'assets'),
      METALBOOT_API_TOKEN: 'durable-token-0123456789',
    },
  );
  // An unknown machine asks for its script from 127.0.0.1: discovered, known by that address.
  await run('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/ipxe?mac=${MAC}&arch=x86_64`]);
  const talos = new TalosStandIn(`127.0.0.1:${eventsPort}`, 'killed');
  t.teardown(() => talos.close());
  const events = talos.ids(Array.from({ length: EVENTS }, (_, i) => ev.service(`svc-${i}`, 'Running', `running ${i}`)));
  for (const e of events.slice(0, -1)) await talos.publishRaw(talos.encode(e));
  await talos.publishRaw(talos.encode(events.at(-1)!));
  srv.child.kill('SIGKILL'); // nothing between the last acknowledgement and the kill
  await srv.exited;

  const store = new SqliteStore(join(dataDir, 'metalboot.db'), { groupCommit: false });
  t.teardown(() => store.close());
  const seen = store.db.prepare('SELECT event_id FROM talos_seen_events WHERE mac = ? ORDER BY id').pluck().all(MAC);
  const unattributed = store.db.prepare('SELECT event_id FROM talos_unattributed_events ORDER BY id').pluck().all();
  t.same(
    [...seen, ...unattributed],
    events.map((e) => e.id),
    `all ${EVENTS} acknowledged events are in the reopened store`,
  );
  t.same(seen.length, EVENTS, 'attributed to the discovered machine');
});
