/**
 * Dashboard script, part 3: one machine's pane — where it is and why (progress: unmet conditions,
 * failure, stall deadline), its timeline, the kernel-log tail, and the Wake / Reimage actions.
 */
export const CLIENT_DETAIL = String.raw`
var detailProgress = null;
var detailEvents = [];
var detailLog = [];
var detailError = '';
var detailPoll = null;
var detailTimer = null;
var enc = encodeURIComponent;

function initDetail() {
  byId('detail-close').addEventListener('click', function () { location.hash = ''; });
  byId('action-wake').addEventListener('click', wake);
  byId('action-reimage').addEventListener('click', function () { byId('reimage-form').hidden = false; });
  byId('reimage-cancel').addEventListener('click', function () { byId('reimage-form').hidden = true; });
  byId('reimage-form').addEventListener('submit', submitReimage);
  byId('action-cancel-reimage').addEventListener('click', cancelReimage);
}

function openDetail(mac) {
  if (selected !== mac) {
    selected = mac;
    detailProgress = null; detailEvents = []; detailLog = []; detailError = '';
    byId('reimage-form').hidden = true;
  }
  byId('app').classList.add('with-detail');
  byId('detail').hidden = false;
  renderLists();
  renderDetailBody();
  loadDetail();
  // Kernel-log lines do not come over the event stream: poll while the pane is open.
  clearInterval(detailPoll);
  detailPoll = setInterval(loadDetail, 5000);
}
function closeDetail() {
  selected = null;
  clearInterval(detailPoll);
  byId('detail').hidden = true;
  byId('app').classList.remove('with-detail');
  renderLists();
}

async function loadDetail() {
  var mac = selected;
  if (!mac) return;
  try {
    var p = await api('GET', '/machines/' + enc(mac) + '/progress?events=200&lines=200');
    if (selected !== mac) return;
    detailProgress = p; detailEvents = p.lastEvents || []; detailLog = p.kernelLog || []; detailError = '';
  } catch (err) {
    if (selected !== mac || err.status === 401) return;
    detailError = err.status === 404 ? 'No machine ' + mac + ' (deleted?)' : 'Loading failed: ' + err.message;
  }
  renderDetailHead();
  renderDetailBody();
}

function onDetailEvent(e) {
  if (!detailEvents.some(function (x) { return x.id === e.id; })) detailEvents.push(e);
  renderDetailBody();
  clearTimeout(detailTimer);
  detailTimer = setTimeout(loadDetail, 400); // unmet conditions and failure come with /progress
}

function renderDetailHead() {
  var m = machines.get(selected) || detailProgress;
  byId('detail-title').textContent = m ? (m.hostname || m.mac) : selected;
  var st = byId('detail-state');
  st.textContent = m ? m.state : '';
  st.className = 'badge ' + ((m && STATE_GROUP[m.state]) || '');
  var discovered = !m || m.state === 'discovered';
  byId('action-reimage').hidden = discovered;
  byId('action-cancel-reimage').hidden = !(m && m.reimage);
  if (discovered) byId('reimage-form').hidden = true;
}

function row(label, value) { return value === null || value === undefined || value === '' ? null : [h('dt', null, label), h('dd', null, value)]; }

/** Re-rendering must not yank the operator's scroll; the kernel log follows its end like tail -f. */
function scrollState() {
  var keep = {};
  ['timeline', 'kmsg'].forEach(function (id) {
    var el = byId(id);
    if (el) keep[id] = { top: el.scrollTop, atEnd: el.scrollTop + el.clientHeight >= el.scrollHeight - 4 };
  });
  return keep;
}
function restoreScroll(keep) {
  var tl = byId('timeline');
  if (tl && keep.timeline) tl.scrollTop = keep.timeline.top;
  var k = byId('kmsg');
  if (k) k.scrollTop = !keep.kmsg || keep.kmsg.atEnd ? k.scrollHeight : keep.kmsg.top;
}

function renderDetailBody() {
  var keep = scrollState();
  renderDetailContent();
  restoreScroll(keep);
}

function renderDetailContent() {
  var body = byId('detail-body');
  clear(body);
  if (detailError) { body.append(h('p', { class: 'error' }, detailError)); return; }
  var m = machines.get(selected);
  var p = detailProgress;
  if (!m && !p) { body.append(h('p', { class: 'muted' }, 'Loading…')); return; }
  var ip = m ? m.ip || (m.lastSeen && m.lastSeen.ip) : null;
  var dueIn = p && p.stall ? Date.parse(p.stall.dueAt) - serverNow() : 0;
  body.append(h('dl', null,
    row('MAC', h('span', { class: 'mono' }, selected)),
    m && row('Cluster', m.cluster), m && row('Role', m.role), row('Address', ip ? h('span', { class: 'mono' }, ip) : null),
    m && row('Installed', m.installed ? 'yes' : 'no'),
    m && m.reimage && row('Reimage', 'requested ' + m.reimage.requestedAt + ', wipe ' + m.reimage.wipe),
    m && row('In state', since(m.stateChangedAt)),
    p && p.talos && p.talos.stage && row('Talos', p.talos.stage + (p.talos.ready === true ? ', ready' : p.talos.ready === false ? ', not ready' : '')),
    p && p.stalledIn && row('Stalled in', badge(p.stalledIn)),
    p && p.stall && row('Stall deadline', duration(p.stall.deadlineMs) + ' of silence; ' + (dueIn > 0 ? 'due in ' + duration(dueIn) : 'overdue')),
    p && p.waitingFor && row('Waiting for', h('code', null, p.waitingFor)),
    p && p.failure && row('Failure', h('span', { class: 'error' }, p.failure.reason + ' (' + p.failure.source + ', ' + p.failure.at + ')'))));

  if (p && p.unmetConditions && p.unmetConditions.length) {
    body.append(h('h3', null, 'Unmet conditions'),
      h('ul', { class: 'unmet' }, p.unmetConditions.map(function (c) { return h('li', null, h('strong', null, c.name), ': ', c.reason); })));
  }

  body.append(h('h3', null, 'Timeline'));
  var events = detailEvents.slice().sort(function (a, b) { return b.id - a.id; });
  body.append(events.length ? h('ol', { class: 'timeline', id: 'timeline' }, events.map(function (e) {
    // Security events (a config conflict) carry severity "critical": shown red.
    return h('li', { 'data-kind': e.kind, 'data-id': e.id, class: e.detail && e.detail.severity === 'critical' ? 'critical' : null },
      h('span', { class: 'muted mono', title: e.at }, clock(e.at)),
      h('span', null, h('span', { class: 'kind mono' }, e.kind), e.state ? [' → ', badge(e.state)] : null, e.sourceIp ? h('span', { class: 'muted mono' }, ' from ' + e.sourceIp) : null),
      h('span', { class: 'detail mono' }, detailText(e.detail)));
  })) : h('p', { class: 'muted' }, 'No events yet.'));

  body.append(h('h3', null, 'Kernel log'));
  body.append(detailLog.length
    ? h('pre', { class: 'kmsg', id: 'kmsg' }, detailLog.map(function (l) { return clock(l.receivedAt) + '  ' + l.msg; }).join('\n'))
    : h('p', { class: 'muted' }, 'No kernel log lines: Talos sends them once it runs with talos.logging.kernel pointed at metalboot.'));
}

async function wake() {
  var mac = selected;
  try {
    await api('POST', '/machines/' + enc(mac) + '/power', { action: 'on' });
    toast('Wake-on-LAN sent to ' + mac + '; watch its timeline for the boot.');
  } catch (err) {
    toast('Wake failed: ' + err.message, true);
  }
}

async function submitReimage(ev) {
  ev.preventDefault();
  var mac = selected;
  try {
    var m = await api('POST', '/machines/' + enc(mac) + '/reimage', { wipe: byId('reimage-wipe').value });
    machines.set(m.mac, m);
    byId('reimage-form').hidden = true;
    renderLists();
    toast('Reimage requested for ' + (m.hostname || m.mac) + ': it reinstalls on its next network boot.');
  } catch (err) {
    toast('Reimage failed: ' + err.message, true);
  }
}

async function cancelReimage() {
  var mac = selected;
  try {
    var m = await api('DELETE', '/machines/' + enc(mac) + '/reimage');
    machines.set(m.mac, m);
    renderLists();
    toast('Reimage canceled for ' + (m.hostname || m.mac) + '.');
  } catch (err) {
    toast('Cancel failed: ' + err.message, true);
  }
}
`;
