import t from 'tap';
import { makeTalosApp } from '../helpers/talos-app.js';
import { eventually, failedInstall, kmsgClient, kmsgLine } from '../helpers/talos-standin.js';

const MAC = '52:54:00:aa:00:02';

t.test(
  'kernel-log lines are kept per machine and served; garbage and oversized lines are counted, the connection survives',
  async (t) => {
    const app = await makeTalosApp(t);
    await app.register({ mac: MAC, hostname: 'worker-1' });
    await app.netboot(MAC);
    const c = await kmsgClient(app.kmsgPort);
    t.teardown(() => c.destroy());
    const counters = app.core.progress.counters;

    await c.send(kmsgLine('[talos] fetching machine config from: "http://10.9.0.1:8080/config/..."\n'));
    await c.send('this is not json\n');
    await c.send('{"no":"msg"}\r\n');
    await c.send(Buffer.from([0x00, 0xff, 0xfe, 0x0a]));
    await c.send(`${'x'.repeat(20_000)}\n`); // longer than the 16 KiB line limit
    await c.send(`${'y'.repeat(10_000)}`); // an oversized line in two chunks
    await c.send(`${'y'.repeat(10_000)}\n`);
    // a line split across writes
    const split = kmsgLine('[talos] phase mountState (6/13): 1 tasks(s)\n');
    await c.send(split.slice(0, 20));
    await c.send(split.slice(20));
    await eventually(() => counters.kmsgLines === 2);
    t.equal(counters.kmsgGarbage, 3, 'not-JSON, no msg, binary');
    t.equal(counters.kmsgOversized, 2);
    t.notOk(c.destroyed, 'the connection survives garbage');

    const logs = (await app.api('GET', `/api/v1/machines/${MAC}/logs`)).json;
    t.same(
      logs.lines.map((l: { msg: string }) => l.msg),
      [
        '[talos] fetching machine config from: "http://10.9.0.1:8080/config/..."',
        '[talos] phase mountState (6/13): 1 tasks(s)',
      ],
    );
    t.match(logs.lines[0], {
      facility: 'user',
      priority: 'info',
      seq: 665,
      clock: 8576583,
      level: 'info',
      talosTime: '2026-11-25T10:00:00Z',
    });
    const progress = (await app.api('GET', `/api/v1/machines/${MAC}/progress`)).json;
    t.equal(progress.kernelLog.length, 2, 'the tail is part of the machine progress');
    t.same((await app.api('GET', '/api/v1/talos/stats')).json.kmsgGarbage, 3);
  },
);

t.test('a connection that sends only garbage is closed; the server keeps accepting', async (t) => {
  const app = await makeTalosApp(t);
  const c = await kmsgClient(app.kmsgPort);
  const closed = new Promise((resolve) => c.once('close', resolve));
  await c.send('garbage\n'.repeat(1000)).catch(() => undefined);
  await closed;
  t.equal(app.core.progress.counters.kmsgGarbage >= 1000, true);
  const again = await kmsgClient(app.kmsgPort);
  t.teardown(() => again.destroy());
  await again.send(kmsgLine('[talos] hello'));
  await eventually(() => app.core.progress.counters.kmsgLines === 1);
  t.equal(app.core.progress.counters.kmsgUnattributed, 1, 'from an address no machine has: counted');
});

t.test('"installation … complete" on the kernel log means installed, without the event sink', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  const c = await kmsgClient(app.kmsgPort);
  t.teardown(() => c.destroy());
  await c.send(kmsgLine('[talos] installation of v1.13.9 complete\n'));
  await eventually(async () => (await app.machine(MAC)).state === 'installed');
  t.equal((await app.machine(MAC)).installed, true);
  t.ok((await app.kinds(MAC)).includes('install-succeeded'));
  t.equal((await app.netboot(MAC)).kind, 'localboot');
});

t.test('an error on the kernel log becomes the failure reason context', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  await app.netboot(MAC);
  const c = await kmsgClient(app.kmsgPort);
  t.teardown(() => c.destroy());
  await c.send(
    kmsgLine('[talos] failed to install: no such device /dev/sda', { 'talos-level': 'error', priority: 'err' }),
  );
  await eventually(() => app.core.progress.counters.kmsgLines === 1);
  await app.talos.publishAll(failedInstall());
  const failed = (await app.api('GET', `/api/v1/machines/${MAC}/events`)).json.items.find(
    (e: { kind: string }) => e.kind === 'talos-sequence-failed',
  );
  t.equal(failed.detail.kernelLog, 'failed to install: no such device /dev/sda');
});
