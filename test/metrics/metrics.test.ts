import { timelineObserver } from '../../src/tftp/timeline-observer.js';
import t from 'tap';
import { buildHttpApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/metrics/index.js';
import { configRefusalReason, fromTimelineEvent } from '../../src/metrics/timeline.js';
import { TftpTransferError } from '../../src/tftp/types.js';
import { TOKEN, clusterBody, configUrlOf, makeApp, type TestApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:22';
const IP = '10.9.0.50';

/** The value of one sample in Prometheus text format, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(m[3]);
  }
  return 0;
}

async function scrape(a: TestApp): Promise<string> {
  const res = await a.app.inject({ method: 'GET', url: '/metrics' });
  if (res.statusCode !== 200) throw new Error(`metrics: ${res.statusCode} ${res.body}`);
  return res.body;
}

async function bootedMachine(a: TestApp) {
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'w-1', role: 'worker', cluster: 'prod', ip: IP }))
      .status,
    201,
  );
}

t.test('open by default, Prometheus text format', async (t) => {
  const a = await makeApp(t);
  const res = await a.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(res.body, /# TYPE metalboot_machines gauge/);
  t.match(res.body, /# TYPE metalboot_dhcp_packets_total counter/);
  t.match(res.body, /metalboot_process_cpu_seconds_total/, 'process metrics');
  t.equal(sample(res.body, 'metalboot_machines', { state: 'joined' }), 0, 'every state present, zeros included');
  t.match(res.body, 'metalboot_machines{state="joined"} 0');
});

t.test('the token can be required', async (t) => {
  const a = await makeApp(t);
  const app = await buildHttpApp({ core: a.core, apiToken: TOKEN, assetsDir: a.assetsDir, metricsRequireToken: true });
  t.teardown(() => app.close());
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 401);
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } })).statusCode, 401);
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
});

t.test('a boot, counted: HTTP boot routes, configs, events, states', async (t) => {
  const a = await makeApp(t);
  await bootedMachine(a);
  await a.get('/boot.ipxe', IP);
  const script = (await a.get(`/ipxe?mac=${MAC}&arch=x86_64&platform=efi`, IP)).body;
  await a.get('/ipxe?mac=de:ad:be:ef:00:09&arch=x86_64', '10.9.0.99'); // unknown: discovery
  await a.get('/ipxe?mac=not-a-mac', IP);
  await a.get('/assets/talos/v1.13.9/vmlinuz-amd64', IP, { range: 'bytes=0-99' });
  await a.get('/assets/talos/v1.13.9/vmlinuz-amd64', IP);
  await a.get('/assets/talos/v1.13.9/nope', IP);
  const url = configUrlOf(script);
  await a.get(url, '10.9.0.77'); // another address: refused
  await a.get(url.replace(/token=.{5}/, 'token=AAAAA'), IP); // wrong token
  await a.get(url, IP);
  await a.get('/config/zz?token=x', IP); // malformed MAC: refused, not on any timeline
  const m = await scrape(a);

  const boot = (route: string, status: string, result: string) =>
    sample(m, 'metalboot_http_boot_requests_total', { route, status, result });
  t.equal(boot('/boot.ipxe', '200', 'ok'), 1);
  t.equal(boot('/ipxe', '200', 'install'), 1);
  t.equal(boot('/ipxe', '200', 'discovery'), 1);
  t.equal(boot('/ipxe', '400', 'invalid'), 1);
  t.equal(boot('/assets/talos', '206', 'partial'), 1);
  t.equal(boot('/assets/talos', '200', 'complete'), 1);
  t.equal(boot('/assets/talos', '404', 'not-found'), 1);
  t.equal(boot('/config/:mac', '200', 'delivered'), 1);
  t.equal(boot('/config/:mac', '403', 'refused'), 2);
  t.equal(boot('/config/:mac', '400', 'refused'), 1);

  t.equal(sample(m, 'metalboot_config_deliveries_total'), 1);
  t.equal(sample(m, 'metalboot_config_refusals_total', { reason: 'source-ip-mismatch' }), 1);
  t.equal(sample(m, 'metalboot_config_refusals_total', { reason: 'wrong-token' }), 1);
  t.notMatch(m, /10\.9\.0\.77/, 'no addresses in labels');

  t.equal(sample(m, 'metalboot_events_total', { kind: 'config-delivered' }), 1);
  t.equal(sample(m, 'metalboot_events_total', { kind: 'discovered' }), 1);
  t.equal(sample(m, 'metalboot_state_changes_total', { state: 'kernel-loaded' }), 1);
  t.equal(sample(m, 'metalboot_machines', { state: 'config-delivered' }), 1);
  t.equal(sample(m, 'metalboot_machines', { state: 'discovered' }), 1);
  t.equal(sample(m, 'metalboot_machines_stalled'), 0);

  a.clock.advance(20 * 60_000);
  t.equal((await a.core.stall.check()).length, 1);
  const after = await scrape(a);
  t.equal(sample(after, 'metalboot_machines_stalled'), 1, 'stalled machines');
  t.equal(sample(after, 'metalboot_machines', { state: 'stalled' }), 1);
  t.equal(sample(after, 'metalboot_events_total', { kind: 'stalled' }), 1);
});

t.test('DHCP and TFTP from the timeline: known machines only', async (t) => {
  const a = await makeApp(t);
  await bootedMachine(a);
  const net = a.core.network;
  await net.record({ mac: MAC, messageType: 'DISCOVER', reply: 'OFFER', mode: 'proxy', vendorClass: 'PXEClient' });
  await net.record({
    mac: MAC,
    messageType: 'REQUEST',
    mode: 'authoritative',
    vendorClass: 'PXEClient',
    note: 'for another server',
  });
  await net.record({ mac: '02:00:00:00:00:01', messageType: 'DISCOVER', reply: 'OFFER', mode: 'authoritative' }); // a laptop: not on any timeline
  const tftp = timelineObserver(net);
  tftp.onTransferStart?.({
    file: 'ipxe.efi',
    clientAddress: IP,
    clientPort: 1,
    options: { blksize: 1428, windowsize: 1, timeoutMs: 1000, requested: {} },
  });
  tftp.onTransferComplete?.({ file: 'ipxe.efi', clientAddress: IP, clientPort: 1, bytes: 1234, durationMs: 5 });
  tftp.onTransferError?.({
    file: 'x',
    clientAddress: IP,
    clientPort: 2,
    error: new TftpTransferError('NOT_FOUND', 'no such file'),
  });
  await new Promise((r) => setTimeout(r, 100)); // the TFTP observer records asynchronously
  const m = await scrape(a);
  t.equal(sample(m, 'metalboot_dhcp_packets_total', { type: 'discover', mode: 'proxy', reply: 'offer' }), 1);
  t.equal(sample(m, 'metalboot_dhcp_packets_total', { type: 'request', mode: 'authoritative', reply: 'none' }), 1);
  t.equal(
    sample(m, 'metalboot_dhcp_packets_total', { type: 'discover', mode: 'authoritative', reply: 'offer' }),
    0,
    'unknown clients are not on the bus',
  );
  t.equal(sample(m, 'metalboot_tftp_transfers_started_total'), 1);
  t.equal(sample(m, 'metalboot_tftp_transfers_completed_total'), 1);
  t.equal(sample(m, 'metalboot_tftp_sent_bytes_total'), 1234);
  t.equal(sample(m, 'metalboot_tftp_transfer_errors_total', { kind: 'unknown' }), 1);
});

t.test('adapter hooks count every packet and transfer, once', async (t) => {
  const a = await makeApp(t);
  await bootedMachine(a);
  const metrics = createMetrics(a.core, { processMetrics: false });
  t.teardown(() => metrics.close());
  const dhcp = metrics.dhcpCore(a.core.network);
  t.same(await dhcp.lookup(MAC), await a.core.network.lookup(MAC), 'lookups pass through');
  t.equal(await dhcp.isReserved(IP), true, 'reservation checks pass through');
  await dhcp.record({ mac: MAC, messageType: 'DISCOVER', reply: 'OFFER', mode: 'proxy', vendorClass: 'PXEClient' });
  await dhcp.record({ mac: '02:00:00:00:00:01', messageType: 'REQUEST', reply: 'ACK', mode: 'authoritative' });
  const tftp = metrics.tftpObserver(timelineObserver(a.core.network));
  tftp.onTransferStart?.({
    file: 'undionly.kpxe',
    clientAddress: '10.9.0.200',
    clientPort: 1,
    options: { blksize: 512, windowsize: 1, timeoutMs: 1000, requested: {} },
  });
  tftp.onTransferComplete?.({ file: 'undionly.kpxe', clientAddress: IP, clientPort: 1, bytes: 4096, durationMs: 5 });
  tftp.onTransferError?.({
    file: 'ipxe.efi',
    clientAddress: IP,
    clientPort: 2,
    error: new TftpTransferError('CLIENT_ABORTED', 'tsize probe'),
  });
  await new Promise((r) => setTimeout(r, 100));
  const m = await metrics.scrape();
  t.equal(
    sample(m, 'metalboot_dhcp_packets_total', { type: 'discover', mode: 'proxy', reply: 'offer' }),
    1,
    'known machine counted once',
  );
  t.equal(
    sample(m, 'metalboot_dhcp_packets_total', { type: 'request', mode: 'authoritative', reply: 'ack' }),
    1,
    'unknown client counted',
  );
  t.equal(sample(m, 'metalboot_tftp_transfers_started_total'), 1);
  t.equal(sample(m, 'metalboot_tftp_transfers_completed_total'), 1, 'completed counted once');
  t.equal(sample(m, 'metalboot_tftp_sent_bytes_total'), 4096);
  t.equal(sample(m, 'metalboot_tftp_transfer_errors_total', { kind: 'CLIENT_ABORTED' }), 1);
  t.equal(
    sample(m, 'metalboot_tftp_transfer_errors_total', { kind: 'unknown' }),
    0,
    'not also counted from the timeline',
  );
  t.equal(sample(m, 'metalboot_events_total', { kind: 'tftp-completed' }), 1, 'the timeline still records it');
  t.notMatch(m, /metalboot_process_/, 'process metrics can be left out');
});

t.test('Talos listener counters are copied at scrape time', async (t) => {
  const a = await makeApp(t);
  Object.assign(a.core.progress.counters, {
    eventsReceived: 7,
    eventsRecorded: 5,
    eventsDuplicate: 2,
    kmsgLines: 40,
    kmsgGarbage: 3,
  });
  const m = await scrape(a);
  t.equal(sample(m, 'metalboot_talos_events_received_total'), 7);
  t.equal(sample(m, 'metalboot_talos_events_total', { outcome: 'recorded' }), 5);
  t.equal(sample(m, 'metalboot_talos_events_total', { outcome: 'duplicate' }), 2);
  t.equal(sample(m, 'metalboot_talos_kmsg_lines_total'), 40);
  t.equal(sample(m, 'metalboot_talos_kmsg_rejected_total', { reason: 'garbage' }), 3);
  a.core.progress.counters.eventsReceived = 9;
  t.equal(sample(await scrape(a), 'metalboot_talos_events_received_total'), 9, 'follows the counter');
});

t.test('label values come from a fixed vocabulary', async (t) => {
  const ev = (kind: string, detail: Record<string, unknown>) => ({
    id: 1,
    mac: MAC,
    at: '',
    kind,
    detail,
    sourceIp: null,
    state: null,
  });
  t.same(fromTimelineEvent(ev('dhcp-evil', { message: '<script>', mode: 'x', reply: 'OFFER' })), {
    metric: 'dhcp',
    labels: { type: 'other', mode: 'other', reply: 'offer' },
  });
  t.same(fromTimelineEvent(ev('config-invalid', {})), { metric: 'config-invalid' });
  t.equal(
    fromTimelineEvent(ev('config-refused', { reason: 'wrong token' })),
    null,
    'refusals are counted from the bus, each one',
  );
  t.equal(configRefusalReason('not tied to the MAC by neighbour or dhcp'), 'not-tied');
  t.equal(
    configRefusalReason('request from another address than the one the boot script was fetched from'),
    'source-ip-mismatch',
  );
  t.same(fromTimelineEvent(ev('tftp-completed', { bytes: -5 })), { metric: 'tftp-completed', bytes: 0 });
  t.equal(fromTimelineEvent(ev('boot-script', {})), null);
  t.equal(configRefusalReason('token expired'), 'token-expired');
  t.equal(configRefusalReason('machine is installed and not being reimaged'), 'installed');
  t.equal(configRefusalReason('unknown machine'), 'unknown-machine');
  t.equal(configRefusalReason('no token'), 'no-token');
  t.equal(configRefusalReason('machine has no cluster'), 'no-cluster');
  t.equal(configRefusalReason('malformed MAC address in the config URL'), 'malformed-mac');
  t.equal(configRefusalReason(42), 'other');
});

t.test('boots of unknown MACs that were not recorded are counted, by reason', async (t) => {
  const a = await makeApp(t, { discovery: { perSourcePerMinute: 2 } });
  await a.get('/ipxe?mac=01:00:5e:00:00:01', '10.9.0.90');
  await a.get('/ipxe?mac=00:00:00:00:00:00', '10.9.0.90');
  for (let i = 1; i <= 5; i++) await a.get(`/ipxe?mac=02:00:00:00:00:0${i}`, '10.9.0.91');
  const m = await scrape(a);
  t.equal(sample(m, 'metalboot_discovery_refused_total', { reason: 'not-station' }), 2);
  t.equal(sample(m, 'metalboot_discovery_refused_total', { reason: 'rate-limited' }), 3);
  t.equal(sample(m, 'metalboot_machines', { state: 'discovered' }), 2, 'the two within the rate');
});

t.test('power events: label values from a small fixed set', async (t) => {
  const ev = (kind: string, detail: Record<string, unknown>) =>
    fromTimelineEvent({ id: 1, mac: MAC, at: '', kind, detail, sourceIp: null, state: null });
  t.same(ev('power-cycle-requested', { driver: 'redfish' }), {
    metric: 'power',
    labels: { driver: 'redfish', action: 'cycle', result: 'ok' },
  });
  t.same(ev('boot-device-failed', { driver: 'ipmi', reason: 'timeout' }), {
    metric: 'power',
    labels: { driver: 'ipmi', action: 'boot-device', result: 'timeout' },
  });
  t.same(ev('power-on-failed', { driver: 'evil"driver', reason: 'anything at all' }), {
    metric: 'power',
    labels: { driver: 'other', action: 'on', result: 'error' },
  });
  t.equal(ev('power-status-failed', { driver: 'ipmi' }), null, 'a read is not an action');
});
