import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { clusterBody, configUrlOf, makeApp } from '../helpers/core-app.js';

const MAC = 'AA-BB-CC-00-11-22';
const mac = 'aa:bb:cc:00:11:22';
const IP = '10.9.0.50';

t.test('newcomer path: cluster, machine, scripts, kernel, config, timeline', async (t) => {
  const { api, get } = await makeApp(t);

  const c = await api('POST', '/api/v1/clusters', clusterBody());
  t.equal(c.status, 201, c.body);
  t.equal(c.json.cluster.endpoint, 'https://base:6443', 'endpoint read from the controlplane config');

  const m = await api('POST', '/api/v1/machines', {
    mac: MAC,
    hostname: 'worker-1',
    role: 'worker',
    cluster: 'prod',
    installDisk: '/dev/nvme0n1',
  });
  t.equal(m.status, 201, m.body);
  t.equal(m.json.mac, mac, 'MAC normalised');
  t.equal(m.json.state, 'registered');

  const boot = await get('/boot.ipxe', IP);
  t.equal(boot.statusCode, 200);
  t.match(boot.body, /^#!ipxe/);
  t.match(
    boot.body,
    'http://10.9.0.1:8080/ipxe?mac=${netX/mac}&uuid=${uuid}&serial=${serial:uristring}&arch=${buildarch}&platform=${platform}',
  );

  // iPXE URL-encodes the MAC in the query string
  const script = await get(`/ipxe?mac=${encodeURIComponent(mac)}&uuid=&serial=&arch=x86_64&platform=efi`, IP);
  t.equal(script.statusCode, 200, script.body);
  t.equal(script.headers['x-metalboot-script'], 'install');
  const body = script.body;
  t.match(body, 'kernel http://10.9.0.1:8080/assets/talos/v1.13.9/vmlinuz-amd64 initrd=initramfs-amd64.xz ');
  t.match(body, 'initrd --name initramfs-amd64.xz http://10.9.0.1:8080/assets/talos/v1.13.9/initramfs-amd64.xz');
  t.match(body, /\nboot\s*$/);
  for (const arg of [
    'talos.platform=metal',
    'console=tty0',
    'slab_nomerge',
    'pti=on',
    'consoleblank=0',
    'printk.devkmsg=on',
    'init_on_alloc=1',
    'nvme_core.io_timeout=4294967295',
    'selinux=1',
    'module.sig_enforce=1',
    'proc_mem.force_override=never',
  ]) {
    t.match(body, new RegExp(` ${arg.replace(/\./g, '\\.')}( |\\n)`), `cmdline has ${arg}`);
  }
  t.notMatch(body, 'ima_', 'no IMA args after v1.10');
  const configUrl = configUrlOf(body);
  t.match(configUrl, /^\/config\/aa:bb:cc:00:11:22\?token=[A-Za-z0-9_-]{43}$/);

  const range = await get('/assets/talos/v1.13.9/vmlinuz-amd64', IP, { range: 'bytes=100-199' });
  t.equal(range.statusCode, 206);
  t.equal(range.headers['content-range'], 'bytes 100-199/65536');
  t.equal(range.rawPayload.length, 100);
  t.equal(range.rawPayload[0], (100 * 7 + 3) & 0xff, 'right bytes');
  const full = await get('/assets/talos/v1.13.9/vmlinuz-amd64', IP);
  t.equal(full.statusCode, 200);
  t.equal(full.headers['content-length'], '65536');
  t.ok(full.headers.etag && full.headers['last-modified']);
  const initrd = await get('/assets/talos/v1.13.9/initramfs-amd64.xz', IP);
  t.equal(initrd.statusCode, 200);

  const other = await get(configUrl, '10.9.0.99');
  t.equal(other.statusCode, 403, 'another IP is refused');
  t.match(other.json().message, 'was fetched from 10.9.0.50');
  const wrong = await get(configUrl.replace(/token=.{5}/, 'token=AAAAA'), IP);
  t.equal(wrong.statusCode, 403, 'wrong token refused');
  const none = await get(`/config/${mac}`, IP);
  t.equal(none.statusCode, 403, 'no token refused');
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: 'aa:bb:cc:00:11:33',
        hostname: 'worker-2',
        role: 'worker',
        cluster: 'prod',
        installDisk: '/dev/sda',
      })
    ).status,
    201,
  );
  const elsewhere = await get(configUrl.replace(mac, 'aa:bb:cc:00:11:33'), IP);
  t.equal(elsewhere.statusCode, 403, "this machine's token does not fetch another machine's config");
  t.match(elsewhere.json().message, 'wrong token');

  const cfg = await get(configUrl, IP);
  t.equal(cfg.statusCode, 200, cfg.body);
  t.match(cfg.headers['content-type'], 'application/yaml');
  const docs = parseAllDocuments(cfg.body).map((d) => d.toJS());
  const main = docs.find((d) => d.version === 'v1alpha1');
  t.equal(main.machine.type, 'worker');
  t.equal(main.machine.install.disk, '/dev/nvme0n1');
  t.notOk(main.machine.network?.hostname, 'hostname not in machine.network when a HostnameConfig exists');
  const hostname = docs.find((d) => d.kind === 'HostnameConfig');
  t.same({ hostname: hostname.hostname, auto: hostname.auto }, { hostname: 'worker-1', auto: 'off' });
  const again = await get(configUrl, IP);
  t.equal(again.statusCode, 200, 'a retry from the same IP is served');

  const events = await api('GET', `/api/v1/machines/${mac}/events`);
  t.equal(events.status, 200);
  const kinds = events.json.items.map((e: { kind: string }) => e.kind);
  t.same(kinds, [
    'registered',
    'machine-script',
    'kernel-download-started',
    'kernel-download-range-sent',
    'kernel-download-started',
    'kernel-download-completed',
    'initramfs-download-started',
    'initramfs-download-completed',
    'config-refused',
    'config-refused',
    'config-refused',
    'config-delivered',
    'config-delivered',
  ]);
  t.ok(
    events.json.items.every((e: { sourceIp: string | null; kind: string }) => e.kind === 'registered' || e.sourceIp),
    'machine events carry the source IP',
  );
  const completed = events.json.items.find((e: { kind: string }) => e.kind === 'kernel-download-completed');
  t.equal(completed.detail.bytes, 65536, 'bytes sent = size');
  const states = events.json.items
    .filter((e: { state: string | null }) => e.state)
    .map((e: { state: string }) => e.state);
  t.same(states, ['registered', 'pxe-booting', 'kernel-loaded', 'config-delivered']);
  const machine = await api('GET', `/api/v1/machines/${mac}`);
  t.equal(machine.json.state, 'config-delivered');
  t.equal(machine.json.lastSeen.ip, IP);
  t.equal(machine.json.lastSeen.firmware, 'efi');
});
