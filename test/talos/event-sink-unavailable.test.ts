/**
 * The Talos event sink while the store cannot be reached: gRPC UNAVAILABLE (the status gRPC
 * clients retry; Talos keeps the event and sends it again), one warning rather than an error line
 * per event; acknowledged again once the store answers. (The database outage itself:
 * test/store/postgres-outage.test.ts.)
 */
import t from 'tap';
import { UnavailableError } from '../../src/core/errors.js';
import { startEventSink } from '../../src/talos/index.js';
import { makeApp } from '../helpers/core-app.js';
import { ev, TalosStandIn } from '../helpers/talos-standin.js';

t.test('store unavailable: UNAVAILABLE, then acknowledged once it is back', async (t) => {
  const a = await makeApp(t);
  let down = true;
  const lines: { level: string; msg: string }[] = [];
  const log = (level: string) => (_o: object, msg?: string) => lines.push({ level, msg: msg ?? '' });
  const sink = await startEventSink({
    host: '127.0.0.1',
    port: 0,
    progress: a.core.progress,
    flushed: async () => {
      if (down) throw new UnavailableError('the database (PostgreSQL) is unavailable: connect ECONNREFUSED');
    },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
  });
  const talos = new TalosStandIn(sink.address);
  t.teardown(async () => {
    talos.close();
    await sink.close();
  });
  for (const phase of ['install', 'boot', 'upgrade'])
    await t.rejects(talos.publishAll([ev.sequence(phase, 'START')]), {
      code: 14, // grpc.status.UNAVAILABLE
      details: 'store unavailable; send it again',
    });
  t.same(
    lines.filter((l) => l.level === 'warn').map((l) => l.msg),
    ['store unavailable; Talos events refused until it is back'],
    'one warning for the three',
  );
  t.same(
    lines.filter((l) => l.level === 'error'),
    [],
    'no error line per event',
  );
  down = false;
  await talos.publishAll([ev.sequence('install', 'START')]);
  t.pass('acknowledged once the store answers');
});
