/**
 * DOM building. Rule for everything rendered: text goes in with `append`/`textContent`, never
 * innerHTML. Hostnames, DHCP facts, event details and kernel-log lines come from machines on the
 * network.
 */

/** What `h` appends: Nodes, or text (appended as text nodes, so never parsed as HTML). */
export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((ev: Event) => void);

/** An element the page is known to have (page.ts renders it). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** Build an element: `on…` attributes become listeners, `class` the class name, the rest attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, AttrValue> | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.slice(0, 2) === 'on') {
        if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      } else if (k === 'class') el.className = String(v);
      else el.setAttribute(k, String(v));
    }
  }
  for (const c of children) appendChild(el, c);
  return el;
}

function appendChild(el: HTMLElement, c: Child): void {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) {
    for (const x of c) appendChild(el, x);
    return;
  }
  el.append(c instanceof Node ? c : String(c));
}

export function clear(el: HTMLElement): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** Badge colour group per machine state (style.ts: .badge.boot, .install, …). */
export const STATE_GROUP: Readonly<Record<string, string>> = {
  discovered: '',
  registered: '',
  dhcp: 'boot',
  pxe: 'boot',
  'pxe-booting': 'boot',
  'kernel-loaded': 'boot',
  'config-delivered': 'boot',
  installing: 'install',
  installed: 'install',
  'booting-from-disk': 'install',
  'reimage-requested': 'install',
  wiping: 'install',
  running: 'run',
  'kubelet-running': 'run',
  joined: 'ok',
  failed: 'bad',
  stalled: 'warn',
};

export function stateGroup(state: string | null | undefined): string {
  return state && Object.hasOwn(STATE_GROUP, state) ? (STATE_GROUP[state] ?? '') : '';
}

export function badge(state: string | null | undefined): HTMLSpanElement {
  return h('span', { class: `badge ${stateGroup(state)}`, 'data-state': state }, state || '—');
}

export function toast(message: string, isError?: boolean): void {
  const el = h('div', { class: isError ? 'error' : '' }, message);
  byId('toast').append(el);
  setTimeout(() => el.remove(), isError ? 8000 : 4000);
}
