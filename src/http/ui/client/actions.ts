/**
 * The detail pane's buttons: Close, Reimage (with its wipe form) and Cancel reimage; the power menu
 * (Wake / Power on and the rest) is power.ts's.
 */
import { api, messageOf } from './api.js';
import { renderDetailBody } from './detail.js';
import { byId, toast } from './dom.js';
import { renderLists } from './lists.js';
import { closePowerConfirm, initPower } from './power.js';
import { state } from './state.js';
import type { Machine } from './types.js';

const enc = encodeURIComponent;

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
  initPower(renderDetailBody);
  byId('action-reimage').addEventListener('click', () => {
    closePowerConfirm();
    byId('reimage-form').hidden = false;
  });
  byId('reimage-cancel').addEventListener('click', () => {
    byId('reimage-form').hidden = true;
  });
  byId('reimage-form').addEventListener('submit', submitReimage);
  byId('action-cancel-reimage').addEventListener('click', cancelReimage);
}
