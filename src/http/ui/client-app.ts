/**
 * Dashboard script, part 2: sign-in, the machines and discovered tables, accepting a machine,
 * and applying live events. Loaded after client-lib in the same function scope.
 */
export const CLIENT_APP = String.raw`
var machines = new Map();   // mac → machine JSON from /api/v1/machines (the pages shown)
// The registry may hold tens of thousands of machines: each table shows pages of the API's list
// (registered ones, discovered ones) and "Show more" adds a page; a refresh reloads what is shown.
var PAGE = 200;
var lists = {
  managed: { query: 'registered=true', shown: PAGE, next: null, more: 'machines-more' },
  discovered: { query: 'state=discovered', shown: PAGE, next: null, more: 'discovered-more' },
};
var lastEvents = new Map(); // mac → newest timeline event we know of
var clusters = [];
var selected = null;        // mac shown in the detail pane
var acceptingMac = null;
var stream = null;
var listTimer = null;

function setStreamStatus(status) {
  var el = byId('stream');
  el.hidden = false;
  el.setAttribute('data-status', status);
  el.textContent = status === 'live' ? 'live' : status === 'reconnecting' ? 'reconnecting…' : 'offline';
}

function showLogin(message) {
  if (stream) stream.stop();
  stream = null;
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  byId('app').hidden = true;
  byId('logout').hidden = true;
  byId('stream').hidden = true;
  byId('login').hidden = false;
  byId('login-error').textContent = message || '';
  byId('token').focus();
}
onUnauthorized = function () { showLogin('The API token was refused; enter it again.'); };

async function signIn(candidate) {
  token = candidate;
  try {
    await api('GET', '/machines?limit=1');
  } catch (err) {
    if (err.status !== 401) byId('login-error').textContent = 'Cannot reach the API: ' + err.message;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('logout').hidden = false;
  setStreamStatus('reconnecting');
  // Stream first, then load: nothing that happens between the two is missed.
  stream = new EventStream('/api/v1/events/stream', {
    status: setStreamStatus,
    open: function () { refreshAll(); },
    event: function (type, e) { if (type === 'machine-event' || type === 'message') onMachineEvent(e); },
  });
  stream.start();
  await refreshAll();
  routeFromHash();
}

/** The first l.shown items of a list, page by page (at most 1,000 per request). */
async function loadList(l) {
  var items = [], cursor = null;
  do {
    var limit = Math.min(1000, l.shown - items.length);
    var page = await api('GET', '/machines?' + l.query + '&limit=' + limit + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    items = items.concat(page.items);
    cursor = page.next;
  } while (cursor && items.length < l.shown);
  l.next = cursor;
  return items;
}
async function loadAll(path) {
  var items = [], cursor = null;
  do {
    var page = await api('GET', path + '?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    items = items.concat(page.items);
    cursor = page.next;
  } while (cursor && items.length < 100000);
  return items;
}
function showMore(name) {
  lists[name].shown += PAGE;
  refreshAll();
}

async function refreshAll() {
  try {
    var list = (await loadList(lists.managed)).concat(await loadList(lists.discovered));
    machines = new Map(list.map(function (m) { return [m.mac, m]; }));
    // The list carries each machine's newest event; the stream may already know a newer one.
    list.forEach(function (m) { if (m.lastEvent) noteLastEvent(m.mac, m.lastEvent); });
    clusters = await loadAll('/clusters');
    renderLists();
    showServerWarnings((await api('GET', '/server')).warnings);
  } catch (err) {
    if (err.status !== 401) toast('Refreshing machines failed: ' + err.message, true);
  }
}
// Settings that weaken config secrecy (--config-binding first-request), in red above everything.
function showServerWarnings(warnings) {
  var el = byId('server-warnings');
  el.textContent = warnings.join(' ');
  el.hidden = warnings.length === 0;
  el.setAttribute('data-checked', '1');
}
function scheduleListRefresh(ms) {
  clearTimeout(listTimer);
  listTimer = setTimeout(refreshAll, ms === undefined ? 800 : ms);
}

function noteLastEvent(mac, e) {
  var prev = lastEvents.get(mac);
  if (!prev || prev.id <= e.id) lastEvents.set(mac, e);
}

function onMachineEvent(e) {
  if (!e || typeof e.mac !== 'string') return;
  noteLastEvent(e.mac, e);
  var m = machines.get(e.mac);
  if (m && e.state && e.state !== m.state) { m.state = e.state; m.stateChangedAt = e.at; }
  renderLists();
  // Other fields (address, installed, reimage) change with events too: re-read soon, once.
  scheduleListRefresh(m ? 800 : 100);
  if (selected === e.mac) onDetailEvent(e);
}

function machineMatches(m, q) {
  if (!q) return true;
  return [m.hostname, m.mac, m.state, m.cluster, m.role, m.ip, m.lastSeen && m.lastSeen.ip].some(function (v) {
    return typeof v === 'string' && v.toLowerCase().indexOf(q) >= 0;
  });
}
function byName(a, b) {
  return String(a.hostname || '~' + a.mac).localeCompare(String(b.hostname || '~' + b.mac));
}

function renderLists() {
  var all = Array.from(machines.values());
  var discovered = all.filter(function (m) { return m.state === 'discovered'; });
  var q = byId('filter').value.trim().toLowerCase();
  var managed = all.filter(function (m) { return m.state !== 'discovered' && machineMatches(m, q); }).sort(byName);

  byId('discovered').hidden = discovered.length === 0;
  byId('discovered-count').textContent = discovered.length + (lists.discovered.next ? '+' : '');
  byId('discovered-more').hidden = !lists.discovered.next;
  byId('machines-more').hidden = !lists.managed.next;
  var dRows = byId('discovered-rows');
  clear(dRows);
  discovered.forEach(function (m) {
    var seen = m.lastSeen || {};
    dRows.append(h('tr', { 'data-mac': m.mac },
      h('td', { class: 'mono' }, m.mac),
      h('td', { class: 'mono' }, seen.ip || '—'),
      h('td', null, seen.arch || '—'),
      h('td', null, seen.firmware || '—'),
      h('td', { class: 'mono' }, m.uuid || '—'),
      h('td', null, m.serial || '—'),
      h('td', null, seen.at ? since(seen.at, ' ago') : '—'),
      h('td', null, h('button', { type: 'button', class: 'primary', 'data-action': 'accept', onclick: function () { openAccept(m.mac); } }, 'Accept'))));
  });

  byId('machines-count').textContent = managed.length + (lists.managed.next ? '+' : '');
  var rows = byId('machine-rows');
  clear(rows);
  if (managed.length === 0) {
    rows.append(h('tr', null, h('td', { colspan: 8, class: 'empty' }, q ? 'No machine matches the filter.' : 'No machines yet: accept a discovered one, or add one with the CLI (metalboot machine add).')));
  }
  managed.forEach(function (m) {
    var e = lastEvents.get(m.mac);
    var cls = 'machine' + (m.state === 'stalled' ? ' stalled' : '') + (m.state === 'failed' ? ' failed' : '') + (m.mac === selected ? ' selected' : '');
    rows.append(h('tr', { class: cls, 'data-mac': m.mac, onclick: function () { location.hash = '#machine=' + encodeURIComponent(m.mac); } },
      h('td', null, m.hostname || '—'),
      h('td', { class: 'mono' }, m.mac),
      h('td', null, badge(m.state), m.reimage && m.state !== 'reimage-requested' ? h('span', { class: 'muted' }, ' reimage pending') : null),
      h('td', null, m.role || '—'),
      h('td', null, m.cluster || '—'),
      h('td', { class: 'mono' }, m.ip || (m.lastSeen && m.lastSeen.ip) || '—'),
      h('td', { class: 'wrap' }, e ? [h('span', { class: 'mono' }, e.kind), ' ', h('span', { class: 'muted' }, since(e.at, ' ago'))] : '—'),
      h('td', null, since(m.stateChangedAt))));
  });
  if (acceptingMac && !machines.has(acceptingMac)) closeAccept();
  if (selected) { renderDetailHead(); renderDetailBody(); }
}

function openAccept(mac) {
  acceptingMac = mac;
  byId('accept-mac').textContent = mac;
  var select = byId('accept-cluster');
  clear(select);
  clusters.forEach(function (c) { select.append(h('option', { value: c.name }, c.name + ' (' + c.talosVersion + ')')); });
  byId('accept-error').textContent = clusters.length ? '' : 'No clusters yet: create one first (metalboot cluster create).';
  byId('accept-hostname').value = '';
  byId('accept-panel').hidden = false;
  byId('accept-hostname').focus();
}
function closeAccept() {
  acceptingMac = null;
  byId('accept-panel').hidden = true;
}
async function submitAccept(ev) {
  ev.preventDefault();
  var mac = acceptingMac;
  if (!mac) return;
  var body = { mac: mac, cluster: byId('accept-cluster').value, role: byId('accept-role').value, hostname: byId('accept-hostname').value.trim() };
  try {
    var m = await api('POST', '/machines', body);
    machines.set(m.mac, m);
    closeAccept();
    renderLists();
    toast('Accepted ' + m.mac + ' as ' + (m.hostname || m.mac) + '; it installs on its next network boot.');
  } catch (err) {
    byId('accept-error').textContent = err.message;
  }
}

function routeFromHash() {
  var m = /^#machine=(.+)$/.exec(location.hash);
  var mac = m ? decodeURIComponent(m[1]) : null;
  if (mac) openDetail(mac); else closeDetail();
}

function init() {
  byId('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    byId('login-error').textContent = '';
    signIn(byId('token').value.trim());
  });
  byId('logout').addEventListener('click', function () { location.hash = ''; showLogin(''); });
  byId('filter').addEventListener('input', renderLists);
  byId('machines-more').addEventListener('click', function () { showMore('managed'); });
  byId('discovered-more').addEventListener('click', function () { showMore('discovered'); });
  byId('accept-form').addEventListener('submit', submitAccept);
  byId('accept-cancel').addEventListener('click', closeAccept);
  initDetail();
  window.addEventListener('hashchange', function () { if (token) routeFromHash(); });
  setInterval(tick, 1000);
  // Catch what the stream cannot tell: deleted machines, edits through the API.
  setInterval(function () { if (token && !byId('app').hidden) refreshAll(); }, 30000);
  if (token) signIn(token); else showLogin('');
}
`;
