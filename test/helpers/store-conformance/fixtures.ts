/**
 * Builders and shared helpers of the store conformance suite. The entity types are taken from the
 * Store interface itself (src/core/ports/), so the suite depends on nothing but the port.
 */
import type { Test } from 'tap';
import type { Store } from '../../../src/core/ports/types.js';

export type Machine = NonNullable<Awaited<ReturnType<Store['machines']['get']>>>;
export type MachineState = Machine['state'];
export type Cluster = NonNullable<Awaited<ReturnType<Store['clusters']['get']>>>;
export type MachineEvent = Awaited<ReturnType<Store['events']['append']>>;
export type NewEvent = Parameters<Store['events']['append']>[0];
export type AuditEntry = Awaited<ReturnType<Store['audit']['append']>>;
export type NewAudit = Parameters<Store['audit']['append']>[0];
export type ConfigToken = Parameters<Store['tokens']['issue']>[0];
export type MachineProgress = Parameters<Store['progress']['put']>[0];

/** What a store implementation hands the suite: a fresh, empty store per test. */
export interface StoreUnderTest {
  store: Store;
  /**
   * A second instance over the same data (another metalboot on a shared database, or the same
   * file opened again): what it reads is what the first made durable. The suite lets a turn of
   * the event loop pass between one instance's writes and the other's (a store may hold its write
   * transaction open until the turn ends).
   */
  another(): Promise<Store>;
  /** Close everything the factory opened (the store may already be closed). */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

/** A fresh store for one test, cleaned up after it. */
export async function open(t: Test, factory: StoreFactory): Promise<StoreUnderTest> {
  const s = await factory();
  t.teardown(() => s.cleanup());
  return s;
}

/** ConflictError as the interface names it (matched by name and code, not by class identity). */
export const CONFLICT = { name: 'ConflictError', code: 'conflict' };

/** Times as the core writes them: ISO strings that sort as they happen. */
export const T0 = Date.parse('2026-06-01T00:00:00.000Z');
export const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/** The n-th locally administered unicast MAC, in MAC (string) order as n grows. */
export const mac = (n: number) =>
  `02:00:00:${[(n >> 16) & 255, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

export function machine(macAddr: string, extra: Partial<Machine> = {}): Machine {
  return {
    mac: macAddr,
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
    stateChangedAt: at(0),
    installed: false,
    reimage: null,
    lastSeen: {},
    createdAt: at(0),
    updatedAt: at(0),
    ...extra,
  };
}

/** A discovered machine last seen at `seenAt` seconds. */
export const discovered = (macAddr: string, seenAt: number, extra: Partial<Machine> = {}) =>
  machine(macAddr, { state: 'discovered', lastSeen: { ip: '10.0.0.200', at: at(seenAt) }, ...extra });

export function cluster(name: string, extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    talosVersion: 'v1.13.9',
    arch: 'amd64',
    endpoint: 'https://10.0.0.10:6443',
    controlplane: 'version: v1alpha1\nmachine:\n  type: controlplane\n',
    worker: 'version: v1alpha1\nmachine:\n  type: worker\n',
    patches: ['machine:\n  install:\n    wipe: true\n'],
    kernelArgs: ['console=ttyS0'],
    schematic: null,
    createdAt: at(0),
    updatedAt: at(0),
    ...extra,
  };
}

export const event = (macAddr: string, kind: string, seconds: number, extra: Partial<NewEvent> = {}): NewEvent => ({
  mac: macAddr,
  at: at(seconds),
  kind,
  detail: {},
  sourceIp: null,
  state: null,
  ...extra,
});

export const audit = (action: string, seconds: number, extra: Partial<NewAudit> = {}): NewAudit => ({
  at: at(seconds),
  actor: 'api',
  action,
  target: null,
  detail: {},
  sourceIp: null,
  ...extra,
});

export const token = (macAddr: string, hashChar: string, extra: Partial<ConfigToken> = {}): ConfigToken => ({
  tokenHash: hashChar.repeat(64),
  mac: macAddr,
  sourceIp: '10.0.0.21',
  createdAt: at(60),
  expiresAt: at(60 + 3 * 3600),
  ...extra,
});

export const progress = (macAddr: string, extra: Partial<MachineProgress> = {}): MachineProgress => ({
  mac: macAddr,
  stage: 'INSTALLING',
  ready: false,
  unmetConditions: [{ name: 'network', reason: 'no address' }],
  failure: null,
  stalled: null,
  bootstrapWaitAt: null,
  lastTalosEventAt: at(5),
  updatedAt: at(5),
  ...extra,
});

/** Every page of a keyset pager, walked with `limit` rows per page. */
export async function walk<T>(
  limit: number,
  page: (after: string | undefined) => Promise<T[]>,
  key: (row: T) => string,
): Promise<T[][]> {
  const pages: T[][] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 1000; guard++) {
    const rows = await page(after);
    if (rows.length === 0) return pages;
    pages.push(rows);
    if (rows.length < limit) return pages;
    after = key(rows.at(-1)!);
  }
  throw new Error('pager never ended');
}
