import t from 'tap';
import { clusterBody, makeApp, type TestApp } from '../helpers/core-app.js';

const MAC = 'aa:bb:cc:00:11:23';
const IP = '10.9.0.51';

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function scrape(a: TestApp): Promise<string> {
  const res = await a.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  return res.body;
}

t.test("the WAL's bound and the bytes boot requests write to it are exposed", async (t) => {
  const a = await makeApp(t);
  t.equal((await a.api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  t.equal(
    (await a.api('POST', '/api/v1/machines', { mac: MAC, hostname: 'w-1', role: 'worker', cluster: 'prod', ip: IP }))
      .status,
    201,
  );
  const before = await scrape(a);
  t.equal(sample(before, 'metalboot_store_wal_max_bytes'), 64 * 1024 * 1024, 'the default bound, 64 MiB');
  t.match(before, '# TYPE metalboot_store_wal_written_bytes_total counter');
  const written = sample(before, 'metalboot_store_wal_written_bytes_total')!;
  for (let i = 0; i < 5; i++) t.equal((await a.get(`/ipxe?mac=${MAC}&arch=x86_64&platform=efi`, IP)).statusCode, 200);
  const after = await scrape(a);
  const grew = sample(after, 'metalboot_store_wal_written_bytes_total')! - written;
  t.ok(
    grew >= 5 * (4096 + 24),
    `five install scripts wrote ${grew} bytes of WAL (at least a page each: each answer waits for its commit)`,
  );
  t.equal(sample(after, 'metalboot_store_wal_restarts_total'), 0, 'far below the bound: no restart');
});
