/** The machines and discovered tables, and the panel that accepts a discovered machine. */
import { api, messageOf } from './api.js';
import { renderDetailBody, renderDetailHead } from './detail.js';
import { badge, byId, clear, h, toast } from './dom.js';
import { since } from './format.js';
import { lists, state } from './state.js';
import type { Machine } from './types.js';

let acceptingMac: string | null = null;

function machineMatches(m: Machine, q: string): boolean {
  if (!q) return true;
  return [m.hostname, m.mac, m.state, m.cluster, m.role, m.ip, m.lastSeen?.ip].some(
    (v) => typeof v === 'string' && v.toLowerCase().indexOf(q) >= 0,
  );
}

function byName(a: Machine, b: Machine): number {
  return String(a.hostname || `~${a.mac}`).localeCompare(String(b.hostname || `~${b.mac}`));
}

/** Both tables from `state.machines`, then the detail pane (it shows the same machine). */
export function renderLists(): void {
  const all = Array.from(state.machines.values());
  const discovered = all.filter((m) => m.state === 'discovered');
  const q = byId<HTMLInputElement>('filter').value.trim().toLowerCase();
  const managed = all.filter((m) => m.state !== 'discovered' && machineMatches(m, q)).sort(byName);

  byId('discovered').hidden = discovered.length === 0;
  byId('discovered-count').textContent = discovered.length + (lists.discovered.next ? '+' : '');
  byId('discovered-more').hidden = !lists.discovered.next;
  byId('machines-more').hidden = !lists.managed.next;
  const dRows = byId('discovered-rows');
  clear(dRows);
  for (const m of discovered) {
    const seen = m.lastSeen || {};
    dRows.append(
      h(
        'tr',
        { 'data-mac': m.mac },
        h('td', { class: 'mono' }, m.mac),
        h('td', { class: 'mono' }, seen.ip || '—'),
        h('td', null, seen.arch || '—'),
        h('td', null, seen.firmware || '—'),
        h('td', { class: 'mono' }, m.uuid || '—'),
        h('td', null, m.serial || '—'),
        h('td', null, seen.at ? since(seen.at, ' ago') : '—'),
        h(
          'td',
          null,
          h(
            'button',
            { type: 'button', class: 'primary', 'data-action': 'accept', onclick: () => openAccept(m.mac) },
            'Accept',
          ),
        ),
      ),
    );
  }

  byId('machines-count').textContent = managed.length + (lists.managed.next ? '+' : '');
  const rows = byId('machine-rows');
  clear(rows);
  if (managed.length === 0) {
    const empty = q
      ? 'No machine matches the filter.'
      : 'No machines yet: accept a discovered one, or add one with the CLI (metalboot machine add).';
    rows.append(h('tr', null, h('td', { colspan: 8, class: 'empty' }, empty)));
  }
  for (const m of managed) {
    const e = state.lastEvents.get(m.mac);
    const cls = `machine${m.state === 'stalled' ? ' stalled' : ''}${m.state === 'failed' ? ' failed' : ''}${m.mac === state.selected ? ' selected' : ''}`;
    const open = () => {
      location.hash = `#machine=${encodeURIComponent(m.mac)}`;
    };
    rows.append(
      h(
        'tr',
        { class: cls, 'data-mac': m.mac, onclick: open },
        h('td', null, m.hostname || '—'),
        h('td', { class: 'mono' }, m.mac),
        h(
          'td',
          null,
          badge(m.state),
          m.reimage && m.state !== 'reimage-requested' ? h('span', { class: 'muted' }, ' reimage pending') : null,
        ),
        h('td', null, m.role || '—'),
        h('td', null, m.cluster || '—'),
        h('td', { class: 'mono' }, m.ip || m.lastSeen?.ip || '—'),
        h(
          'td',
          { class: 'wrap' },
          e ? [h('span', { class: 'mono' }, e.kind), ' ', h('span', { class: 'muted' }, since(e.at, ' ago'))] : '—',
        ),
        h('td', null, since(m.stateChangedAt)),
      ),
    );
  }
  if (acceptingMac && !state.machines.has(acceptingMac)) closeAccept();
  if (state.selected) {
    renderDetailHead();
    renderDetailBody();
  }
}

function openAccept(mac: string): void {
  acceptingMac = mac;
  byId('accept-mac').textContent = mac;
  const select = byId<HTMLSelectElement>('accept-cluster');
  clear(select);
  for (const c of state.clusters) select.append(h('option', { value: c.name }, `${c.name} (${c.talosVersion})`));
  byId('accept-error').textContent = state.clusters.length
    ? ''
    : 'No clusters yet: create one first (metalboot cluster create).';
  byId<HTMLInputElement>('accept-hostname').value = '';
  byId('accept-panel').hidden = false;
  byId('accept-hostname').focus();
}

function closeAccept(): void {
  acceptingMac = null;
  byId('accept-panel').hidden = true;
}

async function submitAccept(ev: Event): Promise<void> {
  ev.preventDefault();
  const mac = acceptingMac;
  if (!mac) return;
  const body = {
    mac,
    cluster: byId<HTMLSelectElement>('accept-cluster').value,
    role: byId<HTMLSelectElement>('accept-role').value,
    hostname: byId<HTMLInputElement>('accept-hostname').value.trim(),
  };
  try {
    const m = await api<Machine>('POST', '/machines', body);
    state.machines.set(m.mac, m);
    closeAccept();
    renderLists();
    toast(`Accepted ${m.mac} as ${m.hostname || m.mac}; it installs on its next network boot.`);
  } catch (err) {
    byId('accept-error').textContent = messageOf(err);
  }
}

export function initLists(): void {
  byId('filter').addEventListener('input', renderLists);
  byId('accept-form').addEventListener('submit', submitAccept);
  byId('accept-cancel').addEventListener('click', closeAccept);
}
