import t from 'tap';
import { clusterBody, configUrlOf, makeApp } from '../helpers/core-app.js';

t.test(
  "the base config's persist warning is said at cluster create, not in every config-delivered event",
  async (t) => {
    const { api, get } = await makeApp(t);
    const c = await api('POST', '/api/v1/clusters', clusterBody());
    t.equal(c.status, 201, c.body);
    t.ok(
      c.json.warnings.some((w: string) => /^worker: persist: deprecated/.test(w)),
      'talosctl writes persist: true; the create answer says so once',
    );
    const machines = [
      { mac: '52:54:00:00:03:01', hostname: 'plain', ip: '10.9.0.61', patches: [] },
      // The machine's own deprecated setting is its own warning, and stays on its timeline.
      { mac: '52:54:00:00:03:02', hostname: 'own', ip: '10.9.0.62', patches: ['machine:\n  env:\n    A: b\n'] },
    ];
    for (const m of machines) {
      const { ip, ...body } = m;
      const reg = await api('POST', '/api/v1/machines', { ...body, role: 'worker', cluster: 'prod' });
      t.equal(reg.status, 201, reg.body);
      const script = await get(`/ipxe?mac=${m.mac}&arch=x86_64&platform=efi`, ip);
      const config = await get(configUrlOf(script.body), ip);
      t.equal(config.statusCode, 200, config.body);
      t.match(config.body, /persist: true/, 'the config itself is untouched');
    }
    const delivered = async (mac: string) =>
      (await api('GET', `/api/v1/machines/${mac}/events`)).json.items.find(
        (e: { kind: string }) => e.kind === 'config-delivered',
      );
    const plain = await delivered('52:54:00:00:03:01');
    t.ok(plain, 'delivered');
    t.notOk('warnings' in plain.detail, 'no warnings: the persist one is the cluster’s');
    const own = await delivered('52:54:00:00:03:02');
    t.ok(own.detail.warnings.length > 0);
    t.ok(
      own.detail.warnings.every((w: string) => !/^persist/.test(w)),
      own.detail.warnings.join('\n'),
    );
    t.ok(
      own.detail.warnings.some((w: string) => /env/.test(w)),
      'its own machine.env warning is kept',
    );
  },
);
