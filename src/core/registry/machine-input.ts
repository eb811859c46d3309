import type { LocalBootMethod, Machine, Role } from '../types.js';
import { ValidationError } from '../errors.js';

/** What an operator registers or changes about a machine (API body), and its checks. */
export interface MachineInput {
  mac: string;
  hostname?: string | null;
  role?: Role | null;
  cluster?: string | null;
  installDisk?: string | Record<string, unknown> | null;
  uuid?: string | null;
  serial?: string | null;
  labels?: Record<string, string>;
  patches?: string[];
  ip?: string | null;
  bootFile?: string | null;
  localBoot?: LocalBootMethod;
  installed?: boolean;
}

export type MachinePatch = Partial<Omit<MachineInput, 'mac'>>;

// RFC 1123 hostname (Talos rejects anything else); labels like Kubernetes label keys/values.
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const LABEL_KEY_RE = /^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
export const DISK_PATH_RE = /^\/dev\/[A-Za-z0-9/_.:-]+$/;
export const BOOT_FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function invalid(message: string, field: string): never {
  throw new ValidationError(message, field);
}

export function checkHostname(h: string | null): string | null {
  if (h === null) return null;
  if (!HOSTNAME_RE.test(h))
    throw new ValidationError(
      `hostname "${h.slice(0, 64)}" is not a valid RFC 1123 host name (lower-case letters, digits, dashes, dots)`,
      'hostname',
    );
  return h;
}

export function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY_RE.test(k))
      throw new ValidationError(`label key "${k.slice(0, 64)}" is not a valid label key`, `labels.${k}`);
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v))
      throw new ValidationError(`label "${k}" has an invalid value`, `labels.${k}`);
  }
  return { ...labels };
}

export function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function blankMachine(mac: string, now: string): Machine {
  return {
    mac,
    uuid: null,
    serial: null,
    hostname: null,
    role: null,
    cluster: null,
    installDisk: null,
    installDiskSelector: null,
    labels: {},
    patches: [],
    ip: null,
    bootFile: null,
    localBoot: 'exit',
    state: 'registered',
    stateChangedAt: now,
    installed: false,
    reimage: null,
    lastSeen: {},
    createdAt: now,
    updatedAt: now,
  };
}
