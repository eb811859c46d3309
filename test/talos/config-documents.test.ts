import t from 'tap';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/core/config/documents.js';
import { loadSchema, validateConfig } from '../../src/core/config/validate.js';
import {
  advertisedTalosEndpoints,
  parseTalosListen,
  startTalosListeners,
  silentLogger,
} from '../../src/talos/index.js';
import { clusterBody, configUrlOf, makeApp, ROOT } from '../helpers/core-app.js';
import { makeTalosApp } from '../helpers/talos-app.js';

const MAC = '52:54:00:aa:00:05';

t.test('every served config points Talos at the listeners, with documents the v1.13 schema accepts', async (t) => {
  const app = await makeTalosApp(t);
  await app.register({ mac: MAC, hostname: 'worker-1' });
  const { script, config } = await app.netboot(MAC);
  const eventsPort = app.listeners.eventsAddress!.split(':').pop();
  t.match(script, ` talos.events.sink=10.9.0.1:${eventsPort} `, 'kernel argument for the pre-config phase');
  t.match(script, ` talos.logging.kernel=tcp://10.9.0.1:${app.kmsgPort}/ `);
  t.ok(script.indexOf('talos.events.sink=') < script.indexOf('talos.config='), 'metalboot args before the config URL');

  const docs = parseAllDocuments(config!).map((d) => d.toJS());
  t.same(
    docs.find((d) => d.kind === 'EventSinkConfig'),
    { apiVersion: 'v1alpha1', kind: 'EventSinkConfig', endpoint: `10.9.0.1:${eventsPort}` },
  );
  t.same(
    docs.find((d) => d.kind === 'KmsgLogConfig'),
    { apiVersion: 'v1alpha1', kind: 'KmsgLogConfig', name: 'metalboot', url: `tcp://10.9.0.1:${app.kmsgPort}/` },
  );
  // Checked against the schema fixture from Talos v1.13.9, independently of the renderer's own check.
  const schema = loadSchema(join(ROOT, 'test/fixtures/talos/config.schema.v1.13.json'));
  const result = validateConfig(parseConfig(config!), schema);
  t.same(result.errors, [], 'schema-valid');
});

t.test('a listener that is off is neither advertised nor configured', async (t) => {
  const base = await makeApp(t);
  const listeners = await startTalosListeners({
    core: base.core,
    advertise: base.talosEndpoints,
    eventsListen: { host: '127.0.0.1', port: 0 },
    kmsgListen: null,
    logger: silentLogger,
  });
  t.teardown(() => listeners.close());
  t.equal(listeners.kmsgAddress, undefined);
  t.equal(listeners.endpoints.kmsg, null);
  await base.api('POST', '/api/v1/clusters', clusterBody());
  await base.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'worker-1', role: 'worker', cluster: 'prod' });
  const script = (await base.get(`/ipxe?mac=${MAC}&arch=x86_64`, '10.9.0.5')).body;
  t.match(script, 'talos.events.sink=');
  t.notMatch(script, 'talos.logging.kernel=');
  const config = (await base.get(configUrlOf(script), '10.9.0.5')).body;
  t.match(config, 'kind: EventSinkConfig');
  t.notMatch(config, 'KmsgLogConfig');
  await listeners.close();
  const after = (await base.get(`/ipxe?mac=${MAC}&arch=x86_64`, '10.9.0.5')).body;
  t.notMatch(after, 'talos.events.sink=', 'closing the listeners withdraws them');
});

t.test('advertised endpoints derive from the advertise URL host', async (t) => {
  t.same(advertisedTalosEndpoints('http://10.0.0.5:8080', { events: 4002, kmsg: 4001 }), {
    events: '10.0.0.5:4002',
    kmsg: 'tcp://10.0.0.5:4001/',
  });
  t.same(advertisedTalosEndpoints('https://boot.example.net', { events: 4002, kmsg: null }), {
    events: 'boot.example.net:4002',
    kmsg: null,
  });
  t.same(advertisedTalosEndpoints('http://[fd00::5]:8080', { events: 4002, kmsg: 4001 }), {
    events: '[fd00::5]:4002',
    kmsg: 'tcp://[fd00::5]:4001/',
  });
  t.same(parseTalosListen('0.0.0.0:4002', 'events-listen'), { host: '0.0.0.0', port: 4002 });
  t.same(parseTalosListen('[::]:4001', 'kmsg-listen'), { host: '::', port: 4001 });
  t.same(parseTalosListen(':4001', 'kmsg-listen'), { host: '0.0.0.0', port: 4001 });
  t.equal(parseTalosListen('off', 'kmsg-listen'), null);
  t.throws(() => parseTalosListen('nope', 'kmsg-listen'), /--kmsg-listen "nope" must be host:port/);
});

t.test('no progress documents for Talos before v1.5 (no multi-document configs)', async (t) => {
  const base = await makeApp(t);
  base.talosEndpoints.advertise({ events: '10.0.0.5:4002', kmsg: 'tcp://10.0.0.5:4001/' });
  const provide = base.core.renderer.documentProviders[0]!;
  t.same(provide({} as never, { talosVersion: 'v1.4.8' } as never), []);
  t.equal(provide({} as never, { talosVersion: 'v1.13.9' } as never).length, 2);
});

t.test('a listener that cannot bind fails the start and leaves nothing running', async (t) => {
  const base = await makeApp(t);
  const first = await startTalosListeners({
    core: base.core,
    advertise: base.talosEndpoints,
    eventsListen: { host: '127.0.0.1', port: 0 },
    kmsgListen: { host: '127.0.0.1', port: 0 },
    logger: silentLogger,
  });
  t.teardown(() => first.close());
  const kmsgPort = Number(first.kmsgAddress!.split(':').pop());
  await t.rejects(
    startTalosListeners({
      core: base.core,
      advertise: base.talosEndpoints,
      eventsListen: { host: '127.0.0.1', port: 0 },
      kmsgListen: { host: '127.0.0.1', port: kmsgPort },
      logger: silentLogger,
    }),
    /EADDRINUSE/,
  );
});

t.test(
  'optional listeners (default ports): one that cannot bind stays off, the other starts and is advertised',
  async (t) => {
    const base = await makeApp(t);
    const first = await startTalosListeners({
      core: base.core,
      advertise: base.talosEndpoints,
      eventsListen: null,
      kmsgListen: { host: '127.0.0.1', port: 0 },
      logger: silentLogger,
    });
    t.teardown(() => first.close());
    const kmsgPort = Number(first.kmsgAddress!.split(':').pop());
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (_: object, msg?: string) => void warnings.push(msg ?? '') };
    const second = await startTalosListeners({
      core: base.core,
      advertise: base.talosEndpoints,
      eventsListen: { host: '127.0.0.1', port: 0 },
      kmsgListen: { host: '127.0.0.1', port: kmsgPort },
      logger,
      optional: { events: false, kmsg: true },
    });
    t.teardown(() => second.close());
    t.ok(second.eventsAddress, 'the event sink started');
    t.equal(second.kmsgAddress, undefined, 'the kernel-log receiver stayed off');
    t.equal(second.endpoints.kmsg, null, 'and is not advertised to machines');
    t.match(warnings.join('\n'), /kernel-log receiver not started .*EADDRINUSE.*--kmsg-listen/);
  },
);
