import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

t.test(
  'host names are unique within a cluster (409 naming the other machine), and may repeat across clusters',
  async (t) => {
    const { api } = await makeApp(t);
    for (const name of ['prod', 'lab']) t.equal((await api('POST', '/api/v1/clusters', clusterBody(name))).status, 201);
    const add = (mac: string, hostname: string, cluster = 'prod') =>
      api('POST', '/api/v1/machines', { mac, hostname, role: 'worker', cluster });
    t.equal((await add('52:54:00:00:01:01', 'worker-1')).status, 201);

    const dup = await add('52:54:00:00:01:02', 'worker-1');
    t.equal(dup.status, 409);
    t.equal(dup.json.error, 'conflict');
    t.equal(
      dup.json.message,
      'hostname worker-1 is already used by 52:54:00:00:01:01 in cluster prod; host names are unique within a cluster',
    );
    t.equal((await api('GET', '/api/v1/machines/52:54:00:00:01:02')).status, 404, 'nothing registered');

    t.equal((await add('52:54:00:00:01:03', 'worker-1', 'lab')).status, 201, 'another cluster: the same name is fine');
    t.equal((await add('52:54:00:00:01:02', 'worker-2')).status, 201);

    const rename = await api('PATCH', '/api/v1/machines/52:54:00:00:01:02', { hostname: 'worker-1' });
    t.equal(rename.status, 409, 'an edit to a taken name');
    t.match(rename.json.message, /already used by 52:54:00:00:01:01/);
    const move = await api('PATCH', '/api/v1/machines/52:54:00:00:01:03', { cluster: 'prod' });
    t.equal(move.status, 409, 'moving into a cluster where the name is taken');
    t.equal((await api('GET', '/api/v1/machines/52:54:00:00:01:03')).json.cluster, 'lab', 'unchanged');

    const same = await api('PATCH', '/api/v1/machines/52:54:00:00:01:01', { hostname: 'worker-1', labels: { a: 'b' } });
    t.equal(same.status, 200, 'its own name is no conflict');
    t.equal((await api('DELETE', '/api/v1/machines/52:54:00:00:01:01')).status, 204);
    t.equal(
      (await api('PATCH', '/api/v1/machines/52:54:00:00:01:02', { hostname: 'worker-1' })).status,
      200,
      'free again once its machine is removed',
    );
  },
);
