/**
 * MachineService: the registry's operations on machines (register, update, reimage, discover,
 * what the network saw, list pages); applying an operator's patch is in machine-patch.ts.
 */
import type { LatestEvent, MachineFilter, Store } from '../ports/types.js';
import type { Actor } from './clusters.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { DEFAULT_DISCOVERY_LIMITS, SourceRateLimiter, type DiscoveryLimits } from './discovery.js';
import { isStationMac, parseMac, parseStationMac } from './mac.js';
import type { ConfigRenderer } from '../config/render.js';
import type { Timeline } from '../timeline/timeline.js';
import type { Cluster, Machine, MachineEvent, MachineState, SeenFacts } from '../types.js';
import { blankMachine, dropUndefined, type MachineInput, type MachinePatch } from './machine-input.js';
import { applyMachinePatch } from './machine-patch.js';
import { isPlaceholderUuid } from './uuid.js';

export { blankMachine, type MachineInput, type MachinePatch } from './machine-input.js';

/**
 * Bus signal (the MAC): the wipe boot of a reimage that drives the machine's power was served (its
 * firmware is past choosing a boot device); the power room then has the BMC boot the network once
 * more, for the install that follows the wipe's reboot. As early as that, not after the downloads:
 * the wipe reboots within seconds of its kernel starting.
 */
export const WIPE_SERVED = 'wipe-served';

/** The machine registry: what operators register, and what the network discovers. */
export class MachineService {
  private readonly discoveryRate: SourceRateLimiter;
  /** Boots that were not recorded as discovered, by reason (metrics, tests). */
  readonly discoveryRefused = { notStation: 0, rateLimited: 0 };

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly renderer: ConfigRenderer,
    readonly discoveryLimits: DiscoveryLimits = DEFAULT_DISCOVERY_LIMITS,
  ) {
    this.discoveryRate = new SourceRateLimiter(discoveryLimits.perSourcePerMinute, discoveryLimits.maxSources, () =>
      timeline.clockMs(),
    );
  }

  async get(macInput: string): Promise<Machine> {
    const mac = parseMac(macInput);
    const m = await this.store.machines.get(mac);
    if (!m) throw new NotFoundError(`machine ${mac} is not registered`);
    return m;
  }

  list(filter?: MachineFilter): Promise<Machine[]> {
    return this.store.machines.list(filter);
  }

  /** One page of the registry in MAC order, after `page.after` (the API's cursor). */
  page(filter: MachineFilter, page: { after?: string; limit: number }): Promise<Machine[]> {
    return this.store.machines.page(filter, page);
  }

  /** The machines, each with its newest timeline event (null when it has none): the list view. */
  async withLatestEvents(machines: Machine[]): Promise<Array<Machine & { lastEvent: LatestEvent | null }>> {
    const last = await this.store.events.latest(machines.map((m) => m.mac));
    return machines.map((m) => ({ ...m, lastEvent: last.get(m.mac) ?? null }));
  }

  /** How many machines are in each state, counted by the store (metrics). */
  countByState(): Promise<Map<MachineState, number>> {
    return this.store.machines.countByState();
  }

  async events(macInput: string, opts?: { afterId?: number; limit?: number }): Promise<MachineEvent[]> {
    const mac = parseMac(macInput);
    return this.store.events.list(mac, opts);
  }

  /**
   * Register a machine. A MAC that was only *discovered* (booted unknown) is accepted into the
   * registry in place, keeping its timeline and what the network saw; a registered one is a conflict.
   */
  async register(input: MachineInput, actor: Actor): Promise<Machine> {
    const mac = parseStationMac(input.mac);
    const existing = await this.store.machines.get(mac);
    if (existing && existing.state !== 'discovered') throw new ConflictError(`machine ${mac} is already registered`);
    const now = this.timeline.now();
    const base: Machine = existing ?? blankMachine(mac, now);
    const machine = await applyMachinePatch(this.store, this.renderer, base, input, now);
    machine.state = existing ? existing.state : machine.installed ? 'installed' : 'registered';
    if (existing) await this.store.machines.update(machine);
    else await this.store.machines.insert(machine);
    await this.timeline.record(
      machine,
      existing ? 'accepted' : 'registered',
      { cluster: machine.cluster, role: machine.role, hostname: machine.hostname },
      {
        sourceIp: actor.sourceIp,
        state: machine.installed ? 'installed' : 'registered',
      },
    );
    await this.timeline.audit({
      ...actor,
      action: existing ? 'machine.accept' : 'machine.create',
      target: mac,
      detail: { cluster: machine.cluster, role: machine.role },
    });
    return this.get(mac);
  }

  /**
   * The machine `input` would make, checked as register/update check it (rendered against
   * `clusterOf`'s clusters), and the record it would replace; nothing written (`apply` plans first). */
  async prepare(
    input: MachineInput,
    clusterOf: (name: string) => Promise<Cluster | undefined>,
  ): Promise<{ machine: Machine; existing: Machine | undefined }> {
    const mac = parseStationMac(input.mac);
    const existing = (await this.store.machines.get(mac)) ?? undefined;
    const now = this.timeline.now();
    const { mac: _, ...patch } = input;
    const base = existing ?? blankMachine(mac, now);
    const machine = await applyMachinePatch(this.store, this.renderer, base, patch, now, clusterOf);
    return { machine, existing };
  }

  async update(macInput: string, patch: MachinePatch, actor: Actor): Promise<Machine> {
    const current = await this.get(macInput);
    const machine = await applyMachinePatch(this.store, this.renderer, current, patch, this.timeline.now());
    await this.store.machines.update(machine);
    if (patch.installed !== undefined && patch.installed !== current.installed) {
      await this.timeline.record(
        machine,
        patch.installed ? 'marked-installed' : 'marked-not-installed',
        {},
        {
          sourceIp: actor.sourceIp,
          state: patch.installed ? 'installed' : 'registered',
        },
      );
    }
    await this.timeline.audit({
      ...actor,
      action: 'machine.update',
      target: machine.mac,
      detail: { fields: Object.keys(patch) },
    });
    return this.get(machine.mac);
  }

  async delete(macInput: string, actor: Actor): Promise<void> {
    const m = await this.get(macInput);
    await this.store.tokens.revokeForMachine(m.mac);
    await this.store.machines.delete(m.mac);
    // On its timeline too (which outlives the record): whoever follows it (`machine events
    // --follow`, the dashboard) learns the machine is gone, and a later registration of the MAC
    // shows what came before.
    await this.timeline.record(
      m.mac,
      'removed',
      { hostname: m.hostname, cluster: m.cluster },
      { sourceIp: actor.sourceIp },
    );
    await this.timeline.audit({ ...actor, action: 'machine.delete', target: m.mac, detail: {} });
  }

  /**
   * The next network boot wipes the system disk (`talos.experimental.wipe=system`), the one after
   * installs afresh with a new config token (see BootService.machineScript).
   */
  async requestReimage(
    macInput: string,
    wipe: 'system' | 'disk',
    actor: Actor,
    opts: { power?: boolean } = {},
  ): Promise<Machine> {
    const m = await this.get(macInput);
    if (m.state === 'discovered')
      throw new ConflictError(`machine ${m.mac} is not registered; register it before reimaging`);
    const previousState = m.reimage?.previousState ?? (m.state === 'reimage-requested' ? undefined : m.state);
    m.reimage = {
      wipe,
      requestedAt: this.timeline.now(),
      previousState,
      wipeServedAt: null,
      wipeBootedAt: null,
      ...(opts.power ? { power: true } : {}),
    };
    m.updatedAt = m.reimage.requestedAt;
    await this.store.machines.update(m);
    await this.timeline.record(
      m,
      'reimage-requested',
      { wipe },
      { sourceIp: actor.sourceIp, state: 'reimage-requested' },
    );
    await this.timeline.audit({ ...actor, action: 'machine.reimage', target: m.mac, detail: { wipe } });
    return this.get(m.mac);
  }

  /** Withdraw a reimage request the machine has not acted on yet (no wipe boot served). */
  async cancelReimage(macInput: string, actor: Actor): Promise<Machine> {
    const m = await this.get(macInput);
    if (!m.reimage) throw new ConflictError(`machine ${m.mac} has no reimage request`);
    if (m.reimage.wipeServedAt)
      throw new ConflictError(
        `the reimage of ${m.mac} has started (wipe boot served at ${m.reimage.wipeServedAt}); it cannot be canceled`,
      );
    const restore = m.reimage.previousState ?? (m.installed ? 'installed' : 'registered');
    m.reimage = null;
    m.updatedAt = this.timeline.now();
    await this.store.machines.update(m);
    await this.timeline.record(m, 'reimage-canceled', {}, { sourceIp: actor.sourceIp, state: restore });
    await this.timeline.audit({ ...actor, action: 'machine.reimage-cancel', target: m.mac, detail: {} });
    return this.get(m.mac);
  }

  /** The wipe boot of a reimage was served (first) or fully downloaded (then): see BootService. */
  async noteWipe(mac: string, step: 'served' | 'booted'): Promise<void> {
    const m = await this.store.machines.get(mac);
    if (!m?.reimage) return;
    if (step === 'served') m.reimage = { ...m.reimage, wipeServedAt: this.timeline.now(), wipeBootedAt: null };
    else m.reimage = { ...m.reimage, wipeBootedAt: this.timeline.now() };
    await this.store.machines.update(m);
    if (step === 'served' && m.reimage.power) this.timeline.bus.emit(WIPE_SERVED, m.mac);
  }

  /**
   * Talos reported its install done: the next network boot boots the disk, the reimage (if any)
   * is complete, and no config token is needed any more.
   */
  async completeInstall(mac: string): Promise<void> {
    const m = await this.store.machines.get(mac);
    if (!m || (m.installed && !m.reimage)) return;
    m.installed = true;
    m.reimage = null;
    m.updatedAt = this.timeline.now();
    await this.store.machines.update(m);
    await this.store.tokens.revokeForMachine(mac);
  }

  /**
   * The machine a network boot belongs to: the one registered with this MAC; else, for a NIC the
   * registry does not know (or only discovered), the registered machine with the same SMBIOS UUID
   * — the same machine booting from another NIC. Only a UUID one registered machine has, and not a
   * firmware placeholder: boards that share one must not take each other's identity (and config).
   * Else the discovered record, if any.
   */
  async forBoot(mac: string, uuid: string | undefined): Promise<Machine | undefined> {
    const byMac = await this.store.machines.get(mac);
    if ((byMac && byMac.state !== 'discovered') || !uuid || isPlaceholderUuid(uuid)) return byMac;
    return (await this.store.machines.findByUuid(uuid)) ?? byMac;
  }

  /**
   * A MAC nobody registered booted: remember it so the operator can accept it — unless it cannot be
   * one NIC (zero, broadcast, multicast) or its source has discovered too many machines this minute
   * (`source`: the address the request came from; a DHCP broadcast has none, so DHCP passes the relay
   * or one key for the local segment). At most `maxDiscovered` are kept: the least recently seen
   * discovered machine makes room. Undefined when nothing was recorded.
   */
  async discover(mac: string, seen: SeenFacts, source: string = seen.ip ?? 'unknown'): Promise<Machine | undefined> {
    if (!isStationMac(mac)) {
      this.discoveryRefused.notStation++;
      return undefined;
    }
    if (!this.discoveryRate.take(source)) {
      this.discoveryRefused.rateLimited++;
      return undefined;
    }
    const now = this.timeline.now();
    const m = blankMachine(mac, now);
    m.state = 'discovered';
    m.uuid = seen.uuid ?? null;
    m.serial = seen.serial ?? null;
    m.lastSeen = { ...seen, at: now };
    try {
      await this.store.machines.insert(m);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // a concurrent boot of the same MAC won the race
    }
    await this.timeline.record(mac, 'discovered', { ...seen }, { sourceIp: seen.ip ?? null, state: 'discovered' });
    // A few at most per discovery: more only when the cap was lowered, which housekeeping trims in batches.
    await this.store.machines.trimDiscovered(this.discoveryLimits.maxDiscovered, 8);
    return m;
  }

  /** Remember what the network told us (address, firmware) without touching operator fields. */
  async noteSeen(m: Machine, seen: SeenFacts): Promise<void> {
    const merged: SeenFacts = { ...m.lastSeen, ...dropUndefined(seen), at: this.timeline.now() };
    m.lastSeen = merged;
    if (!m.uuid && seen.uuid) m.uuid = seen.uuid;
    if (!m.serial && seen.serial) m.serial = seen.serial;
    await this.store.machines.noteSeen(m);
  }
}
