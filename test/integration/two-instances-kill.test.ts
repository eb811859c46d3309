/**
 * `kill -9` of one of two active instances on one PostgreSQL database, in the middle of a boot load
 * spread over both (issue 15): 50 machines registered through the API, each booting over HTTP as
 * iPXE and Talos do (`/boot.ipxe`, `/ipxe?mac=…`, the config URL with its token) from its own
 * loopback address, every request of a boot on the other instance than the one before (so a token
 * issued by one is redeemed on the other). Instance A dies by SIGKILL once a given number of
 * requests has been answered; requests it leaves unanswered are retried on B, as iPXE and Talos
 * retry. Then A starts again on the same database and serves a last boot of every machine.
 *
 * Proven through the API: every answer a machine got is on its timeline — once (config-delivered
 * is never coalesced; script events may be counted as repeats, so their counts are summed) — and
 * an unanswered request at most once; what was answered before the kill is there right after it;
 * B answers everything throughout; event ids are unique and increasing; no two boots got the same
 * token, and every config names its own machine. Without PostgreSQL the file skips visibly; under
 * CI it fails.
 */
import t from 'tap';
import { join } from 'node:path';
import { VERSION } from '../helpers/asset-mirror.js';
import { type Answer, bootOnce, newTally, type SimMachine, type Step } from '../helpers/boot-client.js';
import { runCli, serve, type Served, talosctlOutput } from '../helpers/cli-run.js';
import { missingPostgres, startPostgres } from '../helpers/postgres-server.js';

const missing = missingPostgres();
if (missing && process.env.CI)
  t.fail(`${missing} — CI must provide it (.ci/run installs postgresql), refusing to skip`);

const MACHINES = 50;
const BOOTS_BEFORE_RESTART = 4; // per machine, around the kill
const WORKERS = 10; // machines booting at once
const KILL_AFTER = 150; // answered requests (of 50 × 4 × 3 = 600) before A is killed
const DEADLINE_MS = 90_000;

interface TimelineEvent {
  id: number;
  kind: string;
  sourceIp: string | null;
  repeats?: number;
}

async function api(s: Served, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json', ...init.headers },
    signal: AbortSignal.timeout(10_000),
  });
}

/** A machine's whole timeline, page by page (bounded). */
async function timeline(s: Served, mac: string): Promise<TimelineEvent[]> {
  const out: TimelineEvent[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res = await api(s, `/machines/${mac}/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    if (res.status !== 200) throw new Error(`events of ${mac}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { items: TimelineEvent[]; next: string | null };
    out.push(...body.items);
    cursor = body.next;
    if (!cursor) return out;
  }
  throw new Error(`events of ${mac}: more than 20 pages`);
}

/** How many times each step is on a timeline: its events, each counted with its repeats. */
function counts(events: TimelineEvent[]): Record<Step, number> {
  const n = (kind: string) => events.filter((e) => e.kind === kind).reduce((s, e) => s + (e.repeats ?? 1), 0);
  return {
    boot: n('boot-script'),
    ipxe: events.filter((e) => e.kind === 'machine-script').reduce((s, e) => s + (e.repeats ?? 1), 0),
    config: n('config-delivered'),
  };
}

/**
 * Run `boots` boots of every machine, `WORKERS` machines at a time; a machine belongs to one worker,
 * so its boots never overlap (a second /ipxe would revoke the token of the first). Bounded by count
 * and deadline; returns the boots that did not complete.
 */
async function load(
  machines: SimMachine[],
  boots: number,
  pick: (k: number, step: Step, attempt: number) => string,
  onAnswer: (base: string, step: Step, a: Answer) => void,
  onLost?: (base: string, step: Step) => void,
): Promise<number> {
  let failed = 0;
  let done = 0;
  const deadline = Date.now() + DEADLINE_MS;
  const steps = new Map<number, number>(); // per machine: requests so far (alternates the instance)
  const worker = async (w: number) => {
    for (let round = 0; round < boots; round++)
      for (let i = w; i < machines.length && Date.now() < deadline; i += WORKERS) {
        const ok = await bootOnce(
          machines[i]!,
          (step, attempt) => {
            const k = (steps.get(i) ?? 0) + 1;
            steps.set(i, k);
            return pick(i + k, step, attempt);
          },
          onAnswer,
          onLost,
        );
        done++;
        if (!ok) failed++;
      }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return failed + (machines.length * boots - done);
}

t.test('kill -9 of instance A during a boot load over A and B', { skip: missing }, async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const a = await serve(t, { args: ['--database', url] });
  const b = await serve(t, { args: ['--database', url] });
  const gen = talosctlOutput(join(a.dir, 'gen'));
  const created = await runCli(['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION], a.env);
  t.equal(created.code, 0, created.stderr);

  const machines: SimMachine[] = Array.from({ length: MACHINES }, (_, i) => ({
    mac: `52:54:00:15:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    ip: `127.0.15.${i + 1}`,
    hostname: `node-${i + 1}`,
    tally: newTally(),
  }));
  for (const [i, m] of machines.entries()) {
    const res = await api(i % 2 ? b : a, '/machines', {
      method: 'POST',
      body: JSON.stringify({ mac: m.mac, hostname: m.hostname, role: 'worker', cluster: 'prod', ip: m.ip }),
    });
    t.equal(res.status, 201, `register ${m.mac} on ${i % 2 ? 'B' : 'A'}`);
  }

  // Phase 1: alternate A and B per request; kill A after KILL_AFTER answers; B takes what A cannot.
  let answered = 0;
  let killed = false;
  let answeredBeforeKill: { mac: string; ok: Record<Step, number> }[] = [];
  let bRefusedAfterKill = 0;
  let bAnsweredAfterKill = 0;
  let bLost = 0;
  const killA = () => {
    // Snapshot before the signal: everything answered so far must survive it.
    answeredBeforeKill = machines.map((m) => ({ mac: m.mac, ok: { ...m.tally.ok } }));
    killed = true;
    process.kill(a.srv.child.pid!, 'SIGKILL');
  };
  const failed = await load(
    machines,
    BOOTS_BEFORE_RESTART,
    (k, _step, attempt) => (killed || attempt > 0 ? b.url : k % 2 ? b.url : a.url),
    (base, _step, ans) => {
      if (killed && base === b.url) {
        bAnsweredAfterKill++;
        if (ans.status >= 300) bRefusedAfterKill++;
      }
      if (++answered === KILL_AFTER) killA();
    },
    (base) => {
      if (base === b.url) bLost++;
    },
  );
  t.ok(killed, `A was killed after ${KILL_AFTER} answered requests`);
  t.equal(await a.srv.exited, null, 'A died of the signal');
  t.equal(a.srv.child.signalCode, 'SIGKILL');
  t.equal(failed, 0, 'every boot completed (on B where A was gone)');
  t.ok(bAnsweredAfterKill > 100, `B kept answering after the kill (${bAnsweredAfterKill} requests)`);
  t.equal(bRefusedAfterKill, 0, 'all with 2xx');
  t.equal(bLost, 0, 'and B never left a request unanswered');
  const lostOnA = machines.reduce((s, m) => s + m.tally.lost.boot + m.tally.lost.ipxe + m.tally.lost.config, 0);
  t.comment(`requests A left unanswered when it died: ${lostOnA}`);

  // Everything answered before the kill is in the store, read through B.
  for (const before of answeredBeforeKill) {
    const c = counts(await timeline(b, before.mac));
    for (const step of ['boot', 'ipxe', 'config'] as const)
      if (c[step] < before.ok[step])
        t.fail(`${before.mac}: ${before.ok[step]} ${step} answers before the kill, ${c[step]} on the timeline`);
  }

  // Phase 2: A again, same port, same database; one more boot of every machine over A and B.
  const a2 = await serve(t, { args: ['--database', url], port: a.port });
  const caughtUp = await api(a2, `/machines/${machines[0]!.mac}`);
  t.equal(caughtUp.status, 200, 'the restarted A knows the machines');
  let onA2 = 0;
  let lost2 = 0;
  const failed2 = await load(
    machines,
    1,
    (k) => (k % 2 ? b.url : a2.url),
    (base, _step, ans) => {
      if (base === a2.url && ans.status < 300) onA2++;
    },
    () => lost2++,
  );
  t.equal(failed2, 0, 'every boot after the restart completed');
  t.equal(lost2, 0, 'every request after the restart answered');
  t.ok(onA2 >= MACHINES, `the restarted A served its share (${onA2} requests)`);

  // The store, through both instances: every answer once, nothing lost, ids unique and increasing.
  const ids = new Set<number>();
  const tokens = new Set<string>();
  let exact = 0;
  let coalesced = 0;
  for (const m of machines) {
    t.same(m.tally.refused, [], `${m.mac}: no refusals`);
    t.equal(m.tally.wrongConfig, 0, `${m.mac}: every config names ${m.hostname}`);
    for (const tok of m.tally.tokens) tokens.add(tok);
    const events = await timeline(b, m.mac);
    t.same(
      (await timeline(a2, m.mac)).map((e) => [e.id, e.repeats ?? 1]),
      events.map((e) => [e.id, e.repeats ?? 1]),
      `${m.mac}: A and B read the same timeline`,
    );
    const increasing = events.every((e, i) => i === 0 || e.id > events[i - 1]!.id);
    if (!increasing) t.fail(`${m.mac}: event ids not increasing: ${events.map((e) => e.id).join(',')}`);
    for (const e of events) {
      if (ids.has(e.id)) t.fail(`event id ${e.id} appears twice`);
      ids.add(e.id);
    }
    coalesced += events.filter((e) => (e.repeats ?? 1) > 1).length;
    const c = counts(events);
    for (const step of ['boot', 'ipxe', 'config'] as const) {
      const { ok, lost } = m.tally;
      // An unanswered request may have been recorded before A died (at most once); an answered one is, once.
      if (c[step] < ok[step] || c[step] > ok[step] + lost[step])
        t.fail(`${m.mac}: ${step}: ${c[step]} on the timeline for ${ok[step]} answered + ${lost[step]} unanswered`);
    }
    const configs = events.filter((e) => e.kind === 'config-delivered');
    if (configs.some((e) => e.sourceIp !== m.ip)) t.fail(`${m.mac}: a config-delivered event from another address`);
    if (c.config === m.tally.ok.config && m.tally.lost.config === 0) exact++;
  }
  t.equal(exact, MACHINES - machines.filter((m) => m.tally.lost.config > 0).length, 'config counts exact');
  // A script event an instance takes for an identical repeat of the last one it wrote itself is counted on it.
  t.comment(`events counted as repeats: ${coalesced}`);
  t.ok(ids.size > MACHINES * 10, `${ids.size} events, every id unique`);
  const issued = machines.reduce((s, m) => s + m.tally.tokens.length, 0);
  t.equal(tokens.size, issued, `${issued} install scripts, ${issued} different tokens`);
  t.equal(
    machines.reduce((s, m) => s + m.tally.ok.config, 0),
    MACHINES * (BOOTS_BEFORE_RESTART + 1),
    'every boot got its config',
  );
});
