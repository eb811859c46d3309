import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';
import { handlebars, templateErrorMessage } from '../../src/core/config/handlebars.js';

const labelPatch = 'machine:\n  nodeLabels:\n    rack: "{{machine.labels.rack}}"\n';

t.test('an unknown template variable names the variable and the machine', async (t) => {
  const { api } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody('prod', { patches: [labelPatch] }))).status, 201);
  const add = (mac: string, hostname: string, labels: Record<string, string>) =>
    api('POST', '/api/v1/machines', { mac, hostname, role: 'worker', cluster: 'prod', labels });
  const missing = await add('52:54:00:00:02:01', 'worker-1', {});
  t.equal(missing.status, 400);
  t.match(missing.json.message, /cluster patch 0: machine\.labels\.rack is not set on worker-1$/);
  t.notMatch(missing.json.message, /not defined in|undefined|object Object/);
  t.equal((await add('52:54:00:00:02:01', 'worker-1', { rack: 'r1' })).status, 201, 'with the label it registers');

  const typo = await api(
    'POST',
    '/api/v1/clusters',
    clusterBody('lab', { patches: ['machine:\n  nodeLabels:\n    rack: "{{labels.rack}}"\n'] }),
  );
  t.equal(typo.status, 400);
  t.match(typo.json.message, /patches\[0\]: labels\.rack is not a template variable \(there are machine\.mac, /);
});

t.test(
  'templateErrorMessage: the expression as written, on its line; other errors keep their first line',
  async (t) => {
    const err = (source: string, vars: object) => {
      try {
        // The renderer's options: strict, so a missing variable throws with its position.
        handlebars.compile(source, { strict: true, noEscape: true })(vars);
      } catch (e) {
        return e;
      }
      throw new Error('no error');
    };
    const vars = { machine: { labels: {} }, cluster: {} };
    const src = 'a: 1\nb: {{ machine.labels.[topology.kubernetes.io/zone] }}\n';
    t.equal(
      templateErrorMessage(err(src, vars), src, 'cp-1'),
      'machine.labels.[topology.kubernetes.io/zone] is not set on cp-1',
    );
    t.match(
      templateErrorMessage(err('{{cluster.nope}}', vars), '{{cluster.nope}}'),
      /^cluster\.nope is not a template variable/,
    );
    t.equal(templateErrorMessage(new Error('Parse error on line 1:\nmore'), 'x'), 'template: Parse error on line 1:');
  },
);
