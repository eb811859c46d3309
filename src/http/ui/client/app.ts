/**
 * Sign-in, loading the lists, the live event stream and routing (#machine=… opens the detail pane).
 * `init` is the whole page's start; main.ts calls it.
 */
import { initActions } from './actions.js';
import { api, currentToken, forgetToken, keepToken, messageOf, onUnauthorized, statusOf, useToken } from './api.js';
import { followDetail, hideDetail, onDetailEvent, renderDetailBody, showDetail } from './detail.js';
import { byId, toast } from './dom.js';
import { EventStream, type StreamStatus } from './event-stream.js';
import { tick } from './format.js';
import { initLists, renderLists } from './lists.js';
import { PAGE, lists, noteLastEvent, state, type ListState } from './state.js';
import type { Cluster, Machine, MachineEvent, Page, ServerInfo } from './types.js';

let stream: EventStream | null = null;
let listTimer: number | undefined;

function setStreamStatus(status: StreamStatus): void {
  const el = byId('stream');
  el.hidden = false;
  el.setAttribute('data-status', status);
  el.textContent = status === 'live' ? 'live' : status === 'reconnecting' ? 'reconnecting…' : 'offline';
}

function showLogin(message: string): void {
  if (stream) stream.stop();
  stream = null;
  forgetToken();
  byId('app').hidden = true;
  byId('logout').hidden = true;
  byId('stream').hidden = true;
  byId('login').hidden = false;
  byId('login-error').textContent = message || '';
  byId('token').focus();
}

async function signIn(candidate: string): Promise<void> {
  useToken(candidate);
  try {
    await api('GET', '/machines?limit=1');
  } catch (err) {
    if (statusOf(err) !== 401) byId('login-error').textContent = `Cannot reach the API: ${messageOf(err)}`;
    return;
  }
  keepToken();
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('logout').hidden = false;
  setStreamStatus('reconnecting');
  // Stream first, then load: nothing that happens between the two is missed.
  stream = new EventStream('/api/v1/events/stream', {
    status: setStreamStatus,
    open: () => void refreshAll(),
    event: (type, e) => {
      if (type === 'machine-event' || type === 'message') onMachineEvent(e);
      // The same event again: only its count and last time change, on the open timeline.
      else if (type === 'machine-event-repeated') onRepeatedEvent(e);
    },
  });
  stream.start();
  await refreshAll();
  routeFromHash();
}

/** The first l.shown items of a list, page by page (at most 1,000 per request). */
async function loadList(l: ListState): Promise<Machine[]> {
  let items: Machine[] = [];
  let cursor: string | null = null;
  do {
    const limit = Math.min(1000, l.shown - items.length);
    const page: Page<Machine> = await api(
      'GET',
      `/machines?${l.query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items = items.concat(page.items);
    cursor = page.next;
  } while (cursor && items.length < l.shown);
  l.next = cursor;
  return items;
}

async function loadAll<T>(path: string): Promise<T[]> {
  let items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api(
      'GET',
      `${path}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items = items.concat(page.items);
    cursor = page.next;
  } while (cursor && items.length < 100000);
  return items;
}

function showMore(name: keyof typeof lists): void {
  lists[name].shown += PAGE;
  void refreshAll();
}

async function refreshAll(): Promise<void> {
  try {
    const list = (await loadList(lists.managed)).concat(await loadList(lists.discovered));
    state.machines = new Map(list.map((m) => [m.mac, m]));
    // The list carries each machine's newest event; the stream may already know a newer one.
    for (const m of list) if (m.lastEvent) noteLastEvent(m.mac, m.lastEvent);
    state.clusters = await loadAll<Cluster>('/clusters');
    renderLists();
    showServerWarnings((await api<ServerInfo>('GET', '/server')).warnings);
  } catch (err) {
    if (statusOf(err) !== 401) toast(`Refreshing machines failed: ${messageOf(err)}`, true);
  }
}

// Settings that weaken config secrecy (--config-binding first-request), in red above everything.
function showServerWarnings(warnings: string[]): void {
  const el = byId('server-warnings');
  el.textContent = warnings.join(' ');
  el.hidden = warnings.length === 0;
  el.setAttribute('data-checked', '1');
}

function scheduleListRefresh(ms: number): void {
  clearTimeout(listTimer);
  listTimer = setTimeout(refreshAll, ms);
}

function onMachineEvent(data: unknown): void {
  const e = data as MachineEvent | null;
  if (!e || typeof e.mac !== 'string') return;
  noteLastEvent(e.mac, e);
  const m = state.machines.get(e.mac);
  if (m && e.state && e.state !== m.state) {
    m.state = e.state;
    m.stateChangedAt = e.at;
  }
  renderLists();
  // Other fields (address, installed, reimage) change with events too: re-read soon, once.
  scheduleListRefresh(m ? 800 : 100);
  if (state.selected === e.mac) onDetailEvent(e);
}

function onRepeatedEvent(data: unknown): void {
  const e = data as MachineEvent | null;
  if (e && typeof e.mac === 'string' && state.selected === e.mac) onDetailEvent(e);
}

function openDetail(mac: string): void {
  showDetail(mac);
  renderLists();
  renderDetailBody();
  followDetail();
}

function closeDetail(): void {
  hideDetail();
  renderLists();
}

function routeFromHash(): void {
  const m = /^#machine=(.+)$/.exec(location.hash);
  const mac = m?.[1] ? decodeURIComponent(m[1]) : null;
  if (mac) openDetail(mac);
  else closeDetail();
}

export function init(): void {
  onUnauthorized(() => showLogin('The API token was refused; enter it again.'));
  byId('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    byId('login-error').textContent = '';
    void signIn(byId<HTMLInputElement>('token').value.trim());
  });
  byId('logout').addEventListener('click', () => {
    location.hash = '';
    showLogin('');
  });
  byId('machines-more').addEventListener('click', () => showMore('managed'));
  byId('discovered-more').addEventListener('click', () => showMore('discovered'));
  initLists();
  initActions();
  window.addEventListener('hashchange', () => {
    if (currentToken()) routeFromHash();
  });
  setInterval(tick, 1000);
  // Catch what the stream cannot tell: deleted machines, edits through the API.
  setInterval(() => {
    if (currentToken() && !byId('app').hidden) void refreshAll();
  }, 30000);
  const token = currentToken();
  if (token) void signIn(token);
  else showLogin('');
}
