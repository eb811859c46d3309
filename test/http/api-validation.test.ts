import t from 'tap';
import { TOKEN, clusterBody, fixture, makeApp } from '../helpers/core-app.js';

t.test('admin API needs the bearer token', async (t) => {
  const { app } = await makeApp(t);
  const none = await app.inject({ method: 'GET', url: '/api/v1/machines' });
  t.equal(none.statusCode, 401);
  t.match(none.json(), { error: 'unauthorized', message: /Authorization: Bearer/ });
  const bad = await app.inject({ method: 'GET', url: '/api/v1/machines', headers: { authorization: 'Bearer nope' } });
  t.equal(bad.statusCode, 401);
  const good = await app.inject({
    method: 'GET',
    url: '/api/v1/machines',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  t.equal(good.statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'health needs no token');
});

t.test('bad machine input: clear 4xx, nothing written', async (t) => {
  const { api, store } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const ok = { mac: 'aa:bb:cc:dd:ee:01', hostname: 'n1', role: 'worker', cluster: 'prod' };
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['invalid MAC', { ...ok, mac: 'aa:bb:cc:dd:ee' }, 400, /mac .*is not a MAC address/],
    ['mixed separators', { ...ok, mac: 'aa:bb-cc:dd:ee:ff' }, 400, /mac/],
    [
      'unknown field',
      { ...ok, hostnme: 'x' },
      400,
      /must NOT have additional properties \("hostnme" is not a field here\)/,
    ],
    ['unknown cluster', { ...ok, cluster: 'nope' }, 400, /cluster "nope" does not exist/],
    ['bad role', { ...ok, role: 'master' }, 400, /role/],
    ['bad hostname', { ...ok, hostname: 'Bad_Name' }, 400, /hostname/],
    ['bad disk', { ...ok, installDisk: 'sda' }, 400, /installDisk/],
    ['bad ip', { ...ok, ip: '10.0.0.300' }, 400, /ip/],
    ['bad patch yaml', { ...ok, patches: ['machine: [unclosed'] }, 400, /patch/],
    ['missing field', { mac: ok.mac }, 400, /required/],
    ['malformed JSON', '{"mac": ', 400, /JSON/],
  ];
  for (const [name, body, status, message] of cases) {
    const res = await api('POST', '/api/v1/machines', body);
    t.equal(res.status, status, `${name}: ${res.body}`);
    t.match(res.json?.message, message, name);
    t.type(res.json?.error, 'string', `${name}: has an error code`);
  }
  const macErr = await api('POST', '/api/v1/machines', { ...ok, mac: 'zz' });
  t.equal(macErr.json.field, 'mac', 'names the field');
  t.same(await store.machines.list(), [], 'nothing written');
  t.equal((await api('POST', '/api/v1/machines', ok)).status, 201);
  const dup = await api('POST', '/api/v1/machines', { ...ok, mac: 'AABBCCDDEE01' });
  t.equal(dup.status, 409, 'duplicate MAC in another spelling');
  t.equal((await api('GET', '/api/v1/machines/not-a-mac')).status, 400);
  t.equal((await api('GET', '/api/v1/machines/aa:bb:cc:dd:ee:99')).status, 404);
  t.equal((await api('PATCH', '/api/v1/machines/aa:bb:cc:dd:ee:01', {})).status, 400, 'empty patch');
  t.equal((await api('PATCH', '/api/v1/machines/aa:bb:cc:dd:ee:01', { ip: '10.9.0.9' })).status, 200);
  const taken = await api('POST', '/api/v1/machines', { ...ok, mac: 'aa:bb:cc:dd:ee:02', ip: '10.9.0.9' });
  t.equal(taken.status, 409, 'one reservation per address');
  t.match(taken.json.message, 'already reserved for aa:bb:cc:dd:ee:01');
});

t.test('bad cluster input', async (t) => {
  const { api, store } = await makeApp(t);
  const worker = fixture('talos/examples/v1.13/worker.yaml');
  const cases: Array<[string, unknown, RegExp]> = [
    ['yaml that does not parse', clusterBody('a', { worker: 'machine: [\n' }), /worker/],
    ['role mismatch', clusterBody('a', { controlplane: worker }), /machine.type is "worker", expected "controlplane"/],
    ['bad version', clusterBody('a', { talosVersion: '1.13' }), /Talos version/],
    ['bad name', clusterBody('A_B'), /name/],
    ['kernel arg with $', clusterBody('a', { kernelArgs: ['x=${uuid}'] }), /kernelArgs\[0\]/],
    ['bad patch', clusterBody('a', { patches: ['- op: nope\n  path: /x\n'] }), /patches\[0\]/],
    [
      'typo in a cluster patch',
      clusterBody('a', { patches: ['machine:\n  bogusKey: 1\n'] }),
      /patches: .*cluster's patches would be invalid: .*bogusKey/,
    ],
    [
      'json patch on a missing path',
      clusterBody('a', { patches: ['- op: replace\n  path: /machine/nope/deeper\n  value: 1\n'] }),
      /patches/,
    ],
    ['typo in base config', clusterBody('a', { worker: worker.replace('    install:\n', '    instal:\n') }), /instal/],
    [
      'yaml bomb',
      clusterBody('a', {
        worker:
          'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n',
      }),
      /worker/,
    ],
  ];
  for (const [name, body, message] of cases) {
    const res = await api('POST', '/api/v1/clusters', body);
    t.equal(res.status, 400, `${name}: ${res.body.slice(0, 300)}`);
    t.match(res.json?.message, message, name);
  }
  const huge = await api(
    'POST',
    '/api/v1/clusters',
    clusterBody('a', { patches: Array(60).fill('x'.repeat(200 * 1024)) }),
  );
  t.equal(huge.status, 413, 'body limit');
  t.same(await store.clusters.list(), [], 'nothing written');

  // A patch whose values come from each machine cannot be judged on a sample machine: a warning.
  const perMachine = await api(
    'POST',
    '/api/v1/clusters',
    clusterBody('labelled', {
      patches: [
        'machine:\n  network:\n    interfaces:\n      - interface: eth0\n        mtu: {{machine.labels.mtu}}\n',
      ],
    }),
  );
  t.equal(perMachine.status, 201, perMachine.body);
  t.match(perMachine.json.warnings?.join('\n'), /sample machine's variables.*mtu/);
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: '02:00:00:00:00:09',
        hostname: 'm9',
        role: 'worker',
        cluster: 'labelled',
        labels: { mtu: '9000' },
      })
    ).status,
    201,
    'a machine with the label registers',
  );
  const missing = await api('POST', '/api/v1/machines', {
    mac: '02:00:00:00:00:0a',
    hostname: 'm10',
    role: 'worker',
    cluster: 'labelled',
  });
  t.equal(missing.status, 400, 'one without it is refused at registration');
  t.match(missing.json.message, /mtu/);
  t.equal((await api('DELETE', '/api/v1/machines/02:00:00:00:00:09')).status, 204);
  t.equal((await api('DELETE', '/api/v1/clusters/labelled')).status, 204);

  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 409, 'duplicate');
  t.equal(
    (
      await api('POST', '/api/v1/machines', {
        mac: '02:00:00:00:00:01',
        hostname: 'n',
        role: 'worker',
        cluster: 'prod',
      })
    ).status,
    201,
  );
  t.equal((await api('DELETE', '/api/v1/clusters/prod')).status, 409, 'in use');
  const upd = await api('PUT', '/api/v1/clusters/prod', {
    ...clusterBody(),
    name: undefined,
    kernelArgs: ['talos.dashboard.disabled=1'],
  });
  t.equal(upd.status, 200, upd.body);
  t.same(upd.json.cluster.kernelArgs, ['talos.dashboard.disabled=1']);
  t.equal((await api('PUT', '/api/v1/clusters/other', { ...clusterBody(), name: undefined })).status, 404);
  t.equal((await api('DELETE', '/api/v1/machines/02:00:00:00:00:01')).status, 204);
  t.equal((await api('DELETE', '/api/v1/clusters/prod')).status, 204);
  t.equal((await api('GET', '/api/v1/clusters/prod')).status, 404);
});

t.test('bad query strings on boot routes', async (t) => {
  const { get, store } = await makeApp(t);
  for (const url of [
    '/ipxe',
    '/ipxe?mac=zz',
    '/ipxe?mac=aa:bb:cc:dd:ee:ff&arch=sparc',
    '/ipxe?mac=aa:bb:cc:dd:ee:ff&uuid=nope',
    '/ipxe?mac=aa:bb:cc:dd:ee:ff&platform=bios',
    `/ipxe?mac=aa:bb:cc:dd:ee:ff&serial=${'x'.repeat(200)}`,
  ]) {
    const res = await get(url, '10.9.0.80');
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().error, 'validation');
  }
  t.same(await store.machines.list(), [], 'nothing recorded');
  const odd = await get('/ipxe?mac=aa:bb:cc:dd:ee:ff&serial=SN%204&5=6%20', '10.9.0.80');
  t.equal(odd.statusCode, 200, 'a serial with & (iPXE leaves it unescaped) still boots');
  t.equal((await store.machines.list())[0]?.serial, 'SN 4', 'what was before the & is kept');
  t.equal((await get('/assets/talos/v1.13.9/../../../etc/passwd', '10.9.0.80')).statusCode, 404, 'no traversal');
  const encoded = await get('/assets/talos/v1.13.9/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd', '10.9.0.80');
  t.ok([403, 404].includes(encoded.statusCode), `no encoded traversal (${encoded.statusCode})`);
  t.notMatch(encoded.body, 'root:');
  t.equal((await get('/assets/talos/v1.13.9/vmlinuz-amd64', '10.9.0.80', { range: 'bytes=999999-' })).statusCode, 416);
});

t.test('list filters', async (t) => {
  const { api } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody('lab'))).status, 201);
  await api('POST', '/api/v1/machines', {
    mac: '02:00:00:00:00:01',
    hostname: 'a',
    role: 'worker',
    cluster: 'prod',
    labels: { rack: 'r1' },
  });
  await api('POST', '/api/v1/machines', {
    mac: '02:00:00:00:00:02',
    hostname: 'b',
    role: 'worker',
    cluster: 'lab',
    labels: { rack: 'r2' },
  });
  t.same(
    (await api('GET', '/api/v1/machines?cluster=lab')).json.items.map((m: { hostname: string }) => m.hostname),
    ['b'],
  );
  t.same(
    (await api('GET', '/api/v1/machines?label=rack=r1')).json.items.map((m: { hostname: string }) => m.hostname),
    ['a'],
  );
  t.equal((await api('GET', '/api/v1/machines?state=bogus')).status, 400);
  t.equal((await api('GET', '/api/v1/clusters')).json.items.length, 2);
});
