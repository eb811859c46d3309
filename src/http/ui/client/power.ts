/**
 * The detail pane's power: the Power and BMC rows (rendered inside detail.ts's list) and the power
 * menu (Wake / Power on, the other actions the driver can do, PXE next boot, Reimage + power cycle).
 * The state is asked of the BMC, so it loads on its own when the pane opens, never blocking it: again
 * after an action, when the BMC is set or removed, and at most every 30 s with the detail refresh,
 * never while a request is already out. Destructive actions wait for the confirm form.
 */
import { ApiError, api, messageOf, statusOf } from './api.js';
import { byId, clear, h, toast, type Child } from './dom.js';
import { renderLists } from './lists.js';
import { state } from './state.js';
import type { Bmc, Machine, MachineEvent, PowerAction, PowerView } from './types.js';

const enc = encodeURIComponent;
/** Re-read the power state at most this often while the pane stays open (it asks the BMC). */
const POWER_REFRESH_MS = 30_000;
const LABELS: Record<Exclude<PowerAction, 'on'>, string> = {
  off: 'Power off',
  cycle: 'Power cycle',
  reset: 'Reset',
  soft: 'Shut down (soft)',
};
const DESTRUCTIVE = new Set<string>(['off', 'cycle', 'reset']);

let mac: string | null = null;
let view: PowerView | null = null;
let error = '';
/** The machine's BMC: undefined until read, null when it has none. */
let bmc: Bmc | null | undefined;
let loadedAt = 0;
let inFlight = false;
let again = false;
let confirmed: (() => Promise<void>) | null = null;
let rerender: () => void = () => {};

/** A new machine in the pane: forget the last one's power, its open confirm, and read this one's. */
export function followPower(selected: string): void {
  if (mac !== selected) {
    mac = selected;
    view = null;
    error = '';
    bmc = undefined;
    hideConfirm();
    renderPowerMenu();
    rerender();
  }
  void loadPower(true);
}

/** With the detail refresh: re-read only when the last read is old and none is out. */
export function refreshPower(): void {
  if (Date.now() - loadedAt >= POWER_REFRESH_MS) void loadPower(false);
}

/** A timeline event of the open machine: a BMC set or removed changes what its menu can do. */
export function onPowerEvent(e: MachineEvent): void {
  if (e.mac === mac && (e.kind === 'bmc-set' || e.kind === 'bmc-removed')) void loadPower(true);
}

async function loadPower(force: boolean): Promise<void> {
  const selected = state.selected;
  if (!selected || selected !== mac) return;
  if (inFlight) {
    if (force) again = true; // an action's result must be read after what is already out
    return;
  }
  inFlight = true;
  try {
    const [m, p] = await Promise.allSettled([
      api<Machine>('GET', `/machines/${enc(selected)}`),
      api<PowerView>('GET', `/machines/${enc(selected)}/power`),
    ]);
    if (state.selected !== selected || mac !== selected) return;
    if (m.status === 'fulfilled') bmc = m.value.bmc ?? null;
    if (p.status === 'fulfilled') {
      view = p.value;
      error = '';
    } else if (statusOf(p.reason) !== 401) {
      // The BMC did not answer: its words in the Power row. A 502 still says what the driver can
      // do (the menu stays); anything else keeps what the page last knew.
      error = messageOf(p.reason);
      const body = p.reason instanceof ApiError ? (p.reason.body as Partial<PowerView> | null) : null;
      if (body && Array.isArray(body.actions)) view = body as PowerView;
    }
  } finally {
    inFlight = false;
    loadedAt = Date.now();
  }
  renderPowerMenu();
  rerender();
  if (again) {
    again = false;
    void loadPower(true);
  }
}

/** The Power and BMC rows of the detail list. */
export function powerRows(): Child {
  if (mac !== state.selected) return null; // the pane just switched: followPower resets first
  const stateText: Child = error
    ? h('span', { class: 'error' }, error)
    : view
      ? [
          h('span', { class: `power-state ${view.state}`, 'data-power-state': view.state }, view.state),
          h('span', { class: 'muted' }, view.driver ? ` via ${view.driver}` : ' (no power control)'),
        ]
      : h('span', { class: 'muted' }, 'asking…');
  let bmcText: Child = null;
  if (bmc === null) bmcText = h('span', { class: 'muted' }, 'none');
  else if (bmc) {
    const notes = [bmc.caCert ? 'pinned CA' : '', bmc.insecureTls ? 'insecure TLS' : ''].filter(Boolean);
    bmcText = [
      h('span', { class: 'mono' }, `${bmc.driver}://${bmc.username}@${bmc.address}`),
      notes.length ? h('span', { class: 'muted' }, ` (${notes.join(', ')})`) : null,
    ];
  }
  return [
    h('dt', null, 'Power'),
    h('dd', { id: 'power-state' }, stateText),
    bmcText && [h('dt', null, 'BMC'), h('dd', { id: 'bmc-info' }, bmcText)],
  ];
}

function discovered(): boolean {
  const m = mac ? state.machines.get(mac) : undefined;
  return !m || m.state === 'discovered';
}

/** The menu's buttons: exactly what the driver can do. */
export function renderPowerMenu(): void {
  const actions = view?.actions ?? [];
  const wake = byId<HTMLButtonElement>('action-wake');
  wake.hidden = !actions.includes('on');
  wake.textContent = view?.driver === 'ipmi' || view?.driver === 'redfish' ? 'Power on' : 'Wake';
  const menu = byId('power-menu');
  clear(menu);
  for (const action of ['off', 'cycle', 'reset', 'soft'] as const) {
    if (!actions.includes(action)) continue;
    menu.append(
      h(
        'button',
        {
          type: 'button',
          'data-power-action': action,
          onclick: () => ask(LABELS[action], DESTRUCTIVE.has(action), () => power(action)),
        },
        LABELS[action],
      ),
    );
  }
  if (view?.bootDevice)
    menu.append(h('button', { type: 'button', id: 'action-pxe', onclick: () => void pxeNextBoot() }, 'PXE next boot'));
  if (view?.bootDevice && actions.includes('cycle') && !discovered())
    menu.append(
      h(
        'button',
        { type: 'button', id: 'action-reimage-cycle', onclick: () => ask('Reimage + power cycle', true, reimageCycle) },
        'Reimage + power cycle',
      ),
    );
}

/** Destructive actions run only from the confirm form (the reimage form's pattern). */
function ask(what: string, destructive: boolean, run: () => Promise<void>): void {
  const target = mac;
  const name = (target && state.machines.get(target)?.hostname) || target;
  if (!destructive) {
    void run();
    return;
  }
  confirmed = async () => {
    if (mac === target) await run();
  };
  byId('power-confirm-text').textContent = `${what} ${name}?`;
  byId('reimage-form').hidden = true;
  byId('power-confirm').hidden = false;
}

function hideConfirm(): void {
  confirmed = null;
  byId('power-confirm').hidden = true;
}

async function power(action: PowerAction): Promise<void> {
  const target = mac ?? '';
  const driver = view?.driver;
  try {
    await api('POST', `/machines/${enc(target)}/power`, { action });
    toast(
      action === 'on' && driver !== 'ipmi' && driver !== 'redfish'
        ? `Wake-on-LAN sent to ${target}; watch its timeline for the boot.`
        : `Power ${action} requested for ${target} via ${driver ?? 'its driver'}.`,
    );
  } catch (err) {
    toast(`Power ${action} failed: ${messageOf(err)}`, true);
  }
  void loadPower(true);
}

async function pxeNextBoot(): Promise<void> {
  const target = mac ?? '';
  try {
    await api('POST', `/machines/${enc(target)}/boot-device`, { device: 'pxe', persistent: false });
    toast(`${target} boots from the network next time.`);
  } catch (err) {
    toast(`PXE next boot failed: ${messageOf(err)}`, true);
  }
}

async function reimageCycle(): Promise<void> {
  const target = mac ?? '';
  try {
    const m = await api<Machine & { power?: { action: string; driver: string } }>(
      'POST',
      `/machines/${enc(target)}/reimage`,
      { wipe: 'system', power: 'cycle' },
    );
    state.machines.set(m.mac, m);
    renderLists();
    toast(
      `Reimage requested for ${m.hostname || m.mac}: PXE next boot, then power ${m.power?.action ?? 'cycle'}` +
        ` via ${m.power?.driver ?? 'its BMC'}.`,
    );
  } catch (err) {
    toast(`Reimage + power cycle failed: ${messageOf(err)}`, true);
  }
  void loadPower(true);
}

/** Bind the static buttons; `onChange` re-renders the detail list (the Power and BMC rows). */
export function initPower(onChange: () => void): void {
  rerender = onChange;
  byId('action-wake').addEventListener('click', () => void power('on'));
  byId('power-confirm').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const run = confirmed;
    hideConfirm();
    if (run) void run();
  });
  byId('power-confirm-cancel').addEventListener('click', hideConfirm);
}

/** The reimage form and the confirm form share the spot: opening one closes the other. */
export function closePowerConfirm(): void {
  hideConfirm();
}
