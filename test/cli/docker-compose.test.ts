/**
 * docker-compose.yml: `docker compose up` stays SQLite with nothing else; the `postgres` profile
 * adds PostgreSQL (official image, named volume, pg_isready healthcheck, password from a variable)
 * and a metalboot pointed at it that waits until it is healthy. Parsed with the `yaml` package
 * (merge keys on, as compose reads them); when this host has `docker compose`, its own
 * `config --profile postgres` must accept the file too (an extra: CI has no Docker).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseDatabase } from '../../src/settings/settings.js';
import { ROOT } from '../helpers/core-app.js';

type Service = {
  image?: string;
  build?: string;
  profiles?: string[];
  network_mode?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
};
const FILE = join(ROOT, 'docker-compose.yml');
const compose = parse(readFileSync(FILE, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
/** Compose's `${VAR:-default}` with the variable unset. */
const unset = (s: string) => s.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

t.test('docker compose up: metalboot on SQLite, nothing else', async (t) => {
  const always = Object.entries(services).filter(([, s]) => !s.profiles?.length);
  t.same(
    always.map(([name]) => name),
    ['metalboot'],
  );
  const m = services.metalboot!;
  t.equal(m.network_mode, 'host');
  t.notOk(m.environment?.METALBOOT_DATABASE, 'no --database: SQLite in the data directory');
  t.notOk(m.depends_on, 'depends on nothing');
  t.ok(m.volumes?.includes('./data:/app/data'));
});

t.test('the postgres profile: PostgreSQL and a metalboot on it, started once it is healthy', async (t) => {
  const inProfile = Object.entries(services)
    .filter(([, s]) => s.profiles?.includes('postgres'))
    .map(([name]) => name)
    .sort();
  t.same(inProfile, ['metalboot-pg', 'postgres']);

  const pg = services.postgres!;
  t.equal(pg.image, 'postgres:17', 'the official image');
  const volume = pg.volumes?.find((v) => v.endsWith(':/var/lib/postgresql/data'));
  t.ok(volume, 'its data in a volume');
  const volumeName = volume!.split(':')[0]!;
  t.match(volumeName, /^[a-z][a-z0-9_-]*$/, 'a named volume, not a bind mount');
  t.ok(compose.volumes && volumeName in compose.volumes, 'declared at the top level');
  t.match(pg.healthcheck?.test.join(' '), /pg_isready/, 'healthy when pg_isready says so');
  const env = pg.environment!;
  t.match(
    env.POSTGRES_PASSWORD,
    /^\$\{METALBOOT_PG_PASSWORD:-[^}]+\}$/,
    'the password from a variable, a placeholder without it',
  );
  t.same(pg.ports, ['127.0.0.1:5432:5432'], 'published on loopback only');

  const mpg = services['metalboot-pg']!;
  t.same(mpg.depends_on, { postgres: { condition: 'service_healthy' } });
  for (const key of ['image', 'build', 'network_mode', 'volumes'] as const)
    t.same(mpg[key], services.metalboot![key], `${key} as the SQLite service's`);
  t.same(
    { ...mpg.environment, METALBOOT_DATABASE: undefined },
    { ...services.metalboot!.environment, METALBOOT_DATABASE: undefined },
    'the rest of the environment as the SQLite one',
  );
  const url = new URL(parseDatabase(unset(mpg.environment!.METALBOOT_DATABASE!))!);
  t.equal(`${url.hostname}:${url.port}`, '127.0.0.1:5432', 'the published port (metalboot-pg is on the host network)');
  t.equal(decodeURIComponent(url.username), env.POSTGRES_USER);
  t.equal(url.pathname, `/${env.POSTGRES_DB}`);
  t.equal(decodeURIComponent(url.password), unset(env.POSTGRES_PASSWORD!), 'the same password variable');
});

t.test('docker compose config accepts the file with the profile (when Docker Compose is here)', async (t) => {
  const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (version.status !== 0) {
    t.comment('no `docker compose` on this host: the structure above is what is checked');
    t.pass('nothing more to check here');
    return;
  }
  const r = spawnSync('docker', ['compose', '-f', FILE, '--profile', 'postgres', 'config', '--quiet'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(r.status, 0, r.stderr);
});
