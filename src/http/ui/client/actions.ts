/** The detail pane's buttons: Close, Wake, Reimage (with its wipe form) and Cancel reimage. */
import { api, messageOf } from './api.js';
import { byId, toast } from './dom.js';
import { renderLists } from './lists.js';
import { state } from './state.js';
import type { Machine } from './types.js';

const enc = encodeURIComponent;

async function wake(): Promise<void> {
  const mac = state.selected ?? '';
  try {
    await api('POST', `/machines/${enc(mac)}/power`, { action: 'on' });
    toast(`Wake-on-LAN sent to ${mac}; watch its timeline for the boot.`);
  } catch (err) {
    toast(`Wake failed: ${messageOf(err)}`, true);
  }
}

async function submitReimage(ev: Event): Promise<void> {
  ev.preventDefault();
  const mac = state.selected ?? '';
  try {
    const m = await api<Machine>('POST', `/machines/${enc(mac)}/reimage`, {
      wipe: byId<HTMLSelectElement>('reimage-wipe').value,
    });
    state.machines.set(m.mac, m);
    byId('reimage-form').hidden = true;
    renderLists();
    toast(`Reimage requested for ${m.hostname || m.mac}: it reinstalls on its next network boot.`);
  } catch (err) {
    toast(`Reimage failed: ${messageOf(err)}`, true);
  }
}

async function cancelReimage(): Promise<void> {
  const mac = state.selected ?? '';
  try {
    const m = await api<Machine>('DELETE', `/machines/${enc(mac)}/reimage`);
    state.machines.set(m.mac, m);
    renderLists();
    toast(`Reimage canceled for ${m.hostname || m.mac}.`);
  } catch (err) {
    toast(`Cancel failed: ${messageOf(err)}`, true);
  }
}

export function initActions(): void {
  byId('detail-close').addEventListener('click', () => {
    location.hash = '';
  });
  byId('action-wake').addEventListener('click', wake);
  byId('action-reimage').addEventListener('click', () => {
    byId('reimage-form').hidden = false;
  });
  byId('reimage-cancel').addEventListener('click', () => {
    byId('reimage-form').hidden = true;
  });
  byId('reimage-form').addEventListener('submit', submitReimage);
  byId('action-cancel-reimage').addEventListener('click', cancelReimage);
}
