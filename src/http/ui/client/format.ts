/** Times and durations as the dashboard shows them, on the server's clock. */
import { h } from './dom.js';

/** Server time minus browser time, from the Date header: time-in-state uses the server's clock. */
let clockSkewMs = 0;

export function serverNow(): number {
  return Date.now() + clockSkewMs;
}

export function noteSkew(res: Response): void {
  const d = Date.parse(res.headers.get('date') || '');
  if (!Number.isNaN(d)) clockSkewMs = d - Date.now();
}

export function duration(ms: number): string {
  if (!(ms > 0)) return 'just now';
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const hr = Math.floor(m / 60);
  const d = Math.floor(hr / 24);
  if (d > 0) return `${d}d ${hr % 24}h`;
  if (hr > 0) return `${hr}h ${m % 60}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** "4m 10s" (+ suffix, e.g. " ago"); "just now" takes no suffix. */
function ago(iso: string, suffix?: string | null): string {
  const ms = serverNow() - Date.parse(iso);
  return ms >= 1000 ? duration(ms) + (suffix || '') : 'just now';
}

/** An element whose text the ticker keeps current. */
export function since(iso: string, suffix?: string): HTMLSpanElement {
  return h('span', { 'data-since': iso, 'data-suffix': suffix || '', title: iso }, ago(iso, suffix));
}

/** Runs every second: brings every `since` element up to date. */
export function tick(): void {
  document.querySelectorAll('[data-since]').forEach((el) => {
    el.textContent = ago(el.getAttribute('data-since') ?? '', el.getAttribute('data-suffix'));
  });
}

export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString([], { hour12: false });
}

/** One line for an event's detail: key=value pairs, long values cut. */
export function detailText(detail: unknown): string {
  if (!detail || typeof detail !== 'object') return '';
  const obj = detail as Record<string, unknown>;
  return Object.keys(obj)
    .map((k) => {
      const v = obj[k];
      let s: string | undefined = typeof v === 'string' ? v : JSON.stringify(v);
      if (s && s.length > 300) s = `${s.slice(0, 300)}…`;
      return `${k}=${s}`;
    })
    .join('  ');
}
