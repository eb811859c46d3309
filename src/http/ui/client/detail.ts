/**
 * One machine's pane: where it is and why (progress: unmet conditions, failure, stall deadline),
 * its timeline and the kernel-log tail. Its buttons are in actions.ts, its power in power.ts (loaded
 * on its own: it asks the BMC); app.ts opens and closes it from the URL hash.
 */
import { api, messageOf, statusOf } from './api.js';
import { badge, byId, clear, h, stateGroup, type Child } from './dom.js';
import { clock, detailText, duration, serverNow, since } from './format.js';
import { followPower, onPowerEvent, powerRows, refreshPower, renderPowerMenu } from './power.js';
import { state } from './state.js';
import type { MachineEvent, Progress } from './types.js';

let detailProgress: Progress | null = null;
let detailEvents: MachineEvent[] = [];
let detailLog: Progress['kernelLog'] = [];
let detailError = '';
let detailPoll: number | undefined;
let detailTimer: number | undefined;
const enc = encodeURIComponent;

/** Select `mac` (a new one starts from an empty pane) and show the pane. */
export function showDetail(mac: string): void {
  if (state.selected !== mac) {
    state.selected = mac;
    detailProgress = null;
    detailEvents = [];
    detailLog = [];
    detailError = '';
    byId('reimage-form').hidden = true;
  }
  byId('app').classList.add('with-detail');
  byId('detail').hidden = false;
}

/** Load the selected machine now and every 5 s: kernel-log lines do not come over the event stream. */
export function followDetail(): void {
  void loadDetail();
  if (state.selected) followPower(state.selected);
  clearInterval(detailPoll);
  detailPoll = setInterval(loadDetail, 5000);
}

export function hideDetail(): void {
  state.selected = null;
  clearInterval(detailPoll);
  byId('detail').hidden = true;
  byId('app').classList.remove('with-detail');
}

async function loadDetail(): Promise<void> {
  const mac = state.selected;
  if (!mac) return;
  try {
    const p = await api<Progress>('GET', `/machines/${enc(mac)}/progress?events=200&lines=200`);
    if (state.selected !== mac) return;
    detailProgress = p;
    detailEvents = p.lastEvents || [];
    detailLog = p.kernelLog || [];
    detailError = '';
  } catch (err) {
    const status = statusOf(err);
    if (state.selected !== mac || status === 401) return;
    detailError = status === 404 ? `No machine ${mac} (deleted?)` : `Loading failed: ${messageOf(err)}`;
  }
  refreshPower();
  renderDetailHead();
  renderDetailBody();
}

/** A live event for the selected machine: on the timeline now, the rest with the next /progress. */
export function onDetailEvent(e: MachineEvent): void {
  // A repeat of an event already shown (its count grew) replaces it; a new one is appended.
  const shown = detailEvents.findIndex((x) => x.id === e.id);
  if (shown >= 0) detailEvents[shown] = e;
  else detailEvents.push(e);
  renderDetailBody();
  onPowerEvent(e);
  clearTimeout(detailTimer);
  detailTimer = setTimeout(loadDetail, 400); // unmet conditions and failure come with /progress
}

export function renderDetailHead(): void {
  const selected = state.selected;
  const m = (selected && state.machines.get(selected)) || detailProgress;
  byId('detail-title').textContent = m ? m.hostname || m.mac : selected;
  const st = byId('detail-state');
  st.textContent = m ? m.state : '';
  st.className = `badge ${(m && stateGroup(m.state)) || ''}`;
  const discovered = !m || m.state === 'discovered';
  byId('action-reimage').hidden = discovered;
  byId('action-cancel-reimage').hidden = !m?.reimage;
  if (discovered) byId('reimage-form').hidden = true;
  renderPowerMenu();
}

function row(label: string, value: Child): Child {
  return value === null || value === undefined || value === '' ? null : [h('dt', null, label), h('dd', null, value)];
}

interface ScrollKeep {
  timeline?: { top: number; atEnd: boolean };
  kmsg?: { top: number; atEnd: boolean };
}

/** Re-rendering must not yank the operator's scroll; the kernel log follows its end like tail -f. */
function scrollState(): ScrollKeep {
  const keep: ScrollKeep = {};
  for (const id of ['timeline', 'kmsg'] as const) {
    const el = document.getElementById(id);
    if (el) keep[id] = { top: el.scrollTop, atEnd: el.scrollTop + el.clientHeight >= el.scrollHeight - 4 };
  }
  return keep;
}

function restoreScroll(keep: ScrollKeep): void {
  const tl = document.getElementById('timeline');
  if (tl && keep.timeline) tl.scrollTop = keep.timeline.top;
  const k = document.getElementById('kmsg');
  if (k) k.scrollTop = !keep.kmsg || keep.kmsg.atEnd ? k.scrollHeight : keep.kmsg.top;
}

export function renderDetailBody(): void {
  const keep = scrollState();
  renderDetailContent();
  restoreScroll(keep);
}

function renderDetailContent(): void {
  const body = byId('detail-body');
  clear(body);
  if (detailError) {
    body.append(h('p', { class: 'error' }, detailError));
    return;
  }
  const selected = state.selected ?? '';
  const m = state.machines.get(selected);
  const p = detailProgress;
  if (!m && !p) {
    body.append(h('p', { class: 'muted' }, 'Loading…'));
    return;
  }
  const ip = m ? m.ip || m.lastSeen?.ip : null;
  const dueIn = p?.stall ? Date.parse(p.stall.dueAt) - serverNow() : 0;
  const talos = p?.talos;
  body.append(
    h(
      'dl',
      null,
      row('MAC', h('span', { class: 'mono' }, selected)),
      m && row('Cluster', m.cluster),
      m && row('Role', m.role),
      row('Address', ip ? h('span', { class: 'mono' }, ip) : null),
      powerRows(),
      m && row('Installed', m.installed ? 'yes' : 'no'),
      m?.reimage && row('Reimage', `requested ${m.reimage.requestedAt}, wipe ${m.reimage.wipe}`),
      m && row('In state', since(m.stateChangedAt)),
      talos?.stage &&
        row('Talos', talos.stage + (talos.ready === true ? ', ready' : talos.ready === false ? ', not ready' : '')),
      p?.stalledIn && row('Stalled in', badge(p.stalledIn)),
      p?.stall &&
        row(
          'Stall deadline',
          `${duration(p.stall.deadlineMs)} of silence; ${dueIn > 0 ? `due in ${duration(dueIn)}` : 'overdue'}`,
        ),
      p?.waitingFor && row('Waiting for', h('code', null, p.waitingFor)),
      p?.failure &&
        row('Failure', h('span', { class: 'error' }, `${p.failure.reason} (${p.failure.source}, ${p.failure.at})`)),
    ),
  );

  if (p?.unmetConditions?.length) {
    body.append(
      h('h3', null, 'Unmet conditions'),
      h(
        'ul',
        { class: 'unmet' },
        p.unmetConditions.map((c) => h('li', null, h('strong', null, c.name), ': ', c.reason)),
      ),
    );
  }

  body.append(h('h3', null, 'Timeline'));
  const events = detailEvents.slice().sort((a, b) => b.id - a.id);
  body.append(
    events.length
      ? h(
          'ol',
          { class: 'timeline', id: 'timeline' },
          events.map((e) =>
            // Security events (a config conflict) carry severity "critical": shown red.
            h(
              'li',
              {
                'data-kind': e.kind,
                'data-id': e.id,
                class: e.detail && e.detail.severity === 'critical' ? 'critical' : null,
              },
              h('span', { class: 'muted mono', title: e.at }, clock(e.at)),
              h(
                'span',
                null,
                h('span', { class: 'kind mono' }, e.kind),
                e.state ? [' → ', badge(e.state)] : null,
                e.sourceIp ? h('span', { class: 'muted mono' }, ` from ${e.sourceIp}`) : null,
                e.repeats && e.repeats > 1
                  ? h(
                      'span',
                      { class: 'muted mono repeats', title: `last at ${e.lastAt ?? e.at}` },
                      ` ×${e.repeats} until ${clock(e.lastAt ?? e.at)}`,
                    )
                  : null,
              ),
              h('span', { class: 'detail mono' }, detailText(e.detail)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No events yet.'),
  );

  body.append(h('h3', null, 'Kernel log'));
  body.append(
    detailLog.length
      ? h('pre', { class: 'kmsg', id: 'kmsg' }, detailLog.map((l) => `${clock(l.receivedAt)}  ${l.msg}`).join('\n'))
      : h(
          'p',
          { class: 'muted' },
          'No kernel log lines: Talos sends them once it runs with talos.logging.kernel pointed at metalboot.',
        ),
  );
}
