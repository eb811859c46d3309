/**
 * Dashboard script, part 1: DOM building, formatting, the API client and the event stream.
 * Kept as a string (String.raw, so backslashes stay as written) for the same reason as style.ts.
 *
 * Rule for everything rendered: text goes in with `append`/`textContent`, never innerHTML.
 * Hostnames, DHCP facts, event details and kernel-log lines come from machines on the network.
 */
export const CLIENT_LIB = String.raw`
'use strict';
var TOKEN_KEY = 'metalboot.token';
var byId = function (id) { return document.getElementById(id); };

/** Build an element; children are Nodes or text (appended as text nodes, so never parsed as HTML). */
function h(tag, attrs) {
  var el = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, String(v));
    });
  }
  for (var i = 2; i < arguments.length; i++) appendChild(el, arguments[i]);
  return el;
}
function appendChild(el, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { c.forEach(function (x) { appendChild(el, x); }); return; }
  el.append(c instanceof Node ? c : String(c));
}
function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

var STATE_GROUP = {
  discovered: '', registered: '',
  dhcp: 'boot', pxe: 'boot', 'pxe-booting': 'boot', 'kernel-loaded': 'boot', 'config-delivered': 'boot',
  installing: 'install', installed: 'install', 'booting-from-disk': 'install', 'reimage-requested': 'install', wiping: 'install',
  running: 'run', 'kubelet-running': 'run', joined: 'ok', failed: 'bad', stalled: 'warn',
};
function badge(state) {
  var group = Object.prototype.hasOwnProperty.call(STATE_GROUP, state) ? STATE_GROUP[state] : '';
  return h('span', { class: 'badge ' + group, 'data-state': state }, state || '—');
}

/** Server time minus browser time, from the Date header: time-in-state uses the server's clock. */
var clockSkewMs = 0;
function serverNow() { return Date.now() + clockSkewMs; }
function noteSkew(res) {
  var d = Date.parse(res.headers.get('date') || '');
  if (!isNaN(d)) clockSkewMs = d - Date.now();
}
function duration(ms) {
  if (!(ms > 0)) return 'just now';
  var s = Math.floor(ms / 1000), m = Math.floor(s / 60), hr = Math.floor(m / 60), d = Math.floor(hr / 24);
  if (d > 0) return d + 'd ' + (hr % 24) + 'h';
  if (hr > 0) return hr + 'h ' + (m % 60) + 'm';
  if (m > 0) return m + 'm ' + (s % 60) + 's';
  return s + 's';
}
/** "4m 10s" (+ suffix, e.g. " ago"); "just now" takes no suffix. */
function ago(iso, suffix) {
  var ms = serverNow() - Date.parse(iso);
  return ms >= 1000 ? duration(ms) + (suffix || '') : 'just now';
}
/** An element whose text the ticker keeps current. */
function since(iso, suffix) {
  return h('span', { 'data-since': iso, 'data-suffix': suffix || '', title: iso }, ago(iso, suffix));
}
function tick() {
  document.querySelectorAll('[data-since]').forEach(function (el) {
    el.textContent = ago(el.getAttribute('data-since'), el.getAttribute('data-suffix'));
  });
}
function clock(iso) {
  var d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString([], { hour12: false });
}

/** One line for an event's detail: key=value pairs, long values cut. */
function detailText(detail) {
  if (!detail || typeof detail !== 'object') return '';
  return Object.keys(detail).map(function (k) {
    var v = detail[k];
    var s = typeof v === 'string' ? v : JSON.stringify(v);
    if (s && s.length > 300) s = s.slice(0, 300) + '…';
    return k + '=' + s;
  }).join('  ');
}

function toast(message, isError) {
  var el = h('div', { class: isError ? 'error' : '' }, message);
  byId('toast').append(el);
  setTimeout(function () { el.remove(); }, isError ? 8000 : 4000);
}

function ApiError(status, message, body) { this.status = status; this.message = message; this.body = body; }

var token = sessionStorage.getItem(TOKEN_KEY) || '';
var onUnauthorized = function () {};

/** All data comes from the admin API with the same bearer token the CLI uses. */
async function api(method, path, body) {
  var headers = { authorization: 'Bearer ' + token, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  var res = await fetch('/api/v1' + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  noteSkew(res);
  var text = await res.text();
  var json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (res.status === 401) { onUnauthorized(); throw new ApiError(401, 'the API token was refused', json); }
  if (!res.ok) throw new ApiError(res.status, (json && json.message) || res.status + ' ' + res.statusText, json);
  return json;
}

/**
 * The live event stream, read with fetch: EventSource cannot send an Authorization header, and a
 * token in the URL would end up in access logs and browser history. Parses SSE (event/data/id/
 * retry fields, comments) and reconnects after a drop; onOpen runs on every (re)connect so the
 * page can catch up on what it missed.
 */
function EventStream(path, handlers) {
  this.path = path; this.handlers = handlers; this.ctrl = null; this.stopped = false; this.retryMs = 3000;
}
EventStream.prototype.start = function () { this.stopped = false; this.loop(); };
EventStream.prototype.stop = function () { this.stopped = true; if (this.ctrl) this.ctrl.abort(); };
EventStream.prototype.loop = async function () {
  while (!this.stopped) {
    var ctrl = new AbortController();
    this.ctrl = ctrl;
    try {
      var res = await fetch(this.path, { headers: { authorization: 'Bearer ' + token, accept: 'text/event-stream' }, signal: ctrl.signal, cache: 'no-store' });
      if (res.status === 401) { onUnauthorized(); return; }
      if (!res.ok || !res.body) throw new Error('event stream answered ' + res.status);
      this.handlers.status('live');
      this.handlers.open();
      await this.read(res.body.getReader());
    } catch (err) {
      if (ctrl.signal.aborted) return;
    }
    if (this.stopped) return;
    this.handlers.status('reconnecting');
    var wait = this.retryMs;
    await new Promise(function (r) { setTimeout(r, wait); });
  }
};
EventStream.prototype.read = async function (reader) {
  var decoder = new TextDecoder();
  var buf = '';
  for (;;) {
    var chunk = await reader.read();
    if (chunk.done) return;
    buf += decoder.decode(chunk.value, { stream: true });
    var end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      var block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      this.dispatch(block);
    }
  }
};
EventStream.prototype.dispatch = function (block) {
  var type = 'message', data = [];
  block.split('\n').forEach(function (raw) {
    var line = raw.replace(/\r$/, '');
    if (!line || line[0] === ':') return;
    var i = line.indexOf(':');
    var field = i < 0 ? line : line.slice(0, i);
    var value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Math.max(1000, Number(value));
  }, this);
  if (!data.length) return;
  var parsed;
  try { parsed = JSON.parse(data.join('\n')); } catch (e) { return; }
  this.handlers.event(type, parsed);
};
`;
