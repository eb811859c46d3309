import {
  type BmcClient,
  type BmcCredentials,
  BmcError,
  type BmcPowerAction,
  type BootDevice,
  type PowerState,
} from './bmc-client.js';
import { KeyedPacer } from './bmc-queue.js';
import { parseBmcAddress } from './ipmi.js';
import { type RedfishTarget, redfishRequest } from './redfish-http.js';

export interface RedfishCredentials extends BmcCredentials {
  /** The ComputerSystem's `Id` when the BMC manages several (default: the only one). */
  systemId?: string | null;
  /** Skip TLS verification (a self-signed BMC you cannot pin). Default false. */
  insecureTls?: boolean;
  /** PEM CA (or the BMC's self-signed certificate) to trust for this BMC. */
  ca?: string;
}

export interface RedfishClientOptions {
  /** Hard limit per HTTP request (default 15 s). */
  timeoutMs?: number;
  /** Attempts after the first for an unreachable BMC or a timeout (default 1). Never for a wrong password. */
  retries?: number;
  /** Shared pacing: one command at a time per BMC address (default: a shared pacer, 500 ms gap). */
  pacer?: KeyedPacer;
  /** Cap on a response body (default 1 MiB). */
  maxBodyBytes?: number;
}

const defaultPacer = new KeyedPacer(500);
const MAX_MEMBERS = 64;
const NEVER_SENT = /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN):/;

/** Our actions as Redfish ResetTypes, best first; the first the BMC allows is used. */
const RESET_TYPES: Record<BmcPowerAction, string[]> = {
  on: ['On'],
  off: ['ForceOff'],
  cycle: ['PowerCycle', 'ForceRestart'],
  reset: ['ForceRestart'],
  soft: ['GracefulShutdown'],
};

/** PowerState → on/off; a transition counts as the state it is heading to. */
const POWER_STATES: Record<string, PowerState> = {
  On: 'on',
  PoweringOn: 'on',
  Paused: 'on',
  Off: 'off',
  PoweringOff: 'off',
};

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function odataId(v: unknown): string | undefined {
  const id = obj(v)?.['@odata.id'];
  return typeof id === 'string' && id.startsWith('/') ? id : undefined;
}

function lastSegment(path: string): string {
  const seg = path.replace(/\/+$/, '').split('/').pop() ?? '';
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/**
 * One BMC through its Redfish service (DSP0266) over HTTPS with HTTP basic authentication: service
 * root → `Systems` → the ComputerSystem, its `#ComputerSystem.Reset` action, and a PATCH of `Boot`.
 * TLS is verified unless `insecureTls`; `ca` pins a BMC's own certificate or CA.
 */
export class RedfishClient implements BmcClient {
  readonly address: string;
  private readonly target: RedfishTarget;
  private readonly pacer: KeyedPacer;
  private systemPath: string | undefined;

  constructor(
    private readonly creds: RedfishCredentials,
    private readonly opts: RedfishClientOptions = {},
  ) {
    const { host, port } = parseBmcAddress(creds.address, 443);
    this.address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.target = {
      host,
      port,
      address: this.address,
      username: creds.username,
      password: creds.password,
      insecureTls: creds.insecureTls === true,
      ca: creds.ca,
    };
    this.pacer = opts.pacer ?? defaultPacer;
  }

  powerStatus(): Promise<PowerState> {
    return this.command(async () => {
      const { doc } = await this.system();
      const state = POWER_STATES[String(doc.PowerState)];
      if (!state) throw this.unexpected('PowerState', doc.PowerState);
      return state;
    });
  }

  power(action: BmcPowerAction): Promise<void> {
    const wanted = RESET_TYPES[action];
    if (!wanted) return Promise.reject(new BmcError('command', this.address, `"${action}" is not a power action`));
    return this.command(async () => {
      const { path, doc } = await this.system();
      const reset = obj(obj(doc.Actions)?.['#ComputerSystem.Reset']);
      const target = reset?.target;
      if (typeof target !== 'string' || !target.startsWith('/'))
        throw this.unexpected(`${path} Actions.#ComputerSystem.Reset.target`, target);
      const allowed = reset?.['ResetType@Redfish.AllowableValues'];
      const list = Array.isArray(allowed) ? allowed.filter((v): v is string => typeof v === 'string') : undefined;
      const type = list ? wanted.find((w) => list.includes(w)) : wanted[0];
      if (!type)
        throw new BmcError(
          'command',
          this.address,
          `BMC ${this.address} does not allow ResetType ${wanted.join(' or ')} for "${action}"`,
          `allowed: ${list!.join(', ')}`,
        );
      await this.http('POST', target, { body: { ResetType: type }, idempotent: false });
    });
  }

  setBootDevice(device: BootDevice, opts: { persistent?: boolean; efi?: boolean } = {}): Promise<void> {
    const targets: Record<BootDevice, string> = { pxe: 'Pxe', disk: 'Hdd' };
    const wanted = targets[device];
    if (!wanted) return Promise.reject(new BmcError('command', this.address, `"${device}" is not a boot device`));
    return this.command(async () => {
      const { path, doc, etag } = await this.system();
      const allowed = obj(doc.Boot)?.['BootSourceOverrideTarget@Redfish.AllowableValues'];
      if (Array.isArray(allowed) && !allowed.includes(wanted))
        throw new BmcError(
          'command',
          this.address,
          `BMC ${this.address} does not allow BootSourceOverrideTarget ${wanted}`,
          `allowed: ${allowed.join(', ')}`,
        );
      const boot: Json = {
        BootSourceOverrideTarget: wanted,
        BootSourceOverrideEnabled: opts.persistent ? 'Continuous' : 'Once',
      };
      if (opts.efi !== undefined) boot.BootSourceOverrideMode = opts.efi ? 'UEFI' : 'Legacy';
      await this.http('PATCH', path, { body: { Boot: boot }, headers: etag ? { 'If-Match': etag } : {} });
    });
  }

  /** The ComputerSystem: its path (found once, then remembered), its JSON and its ETag. */
  private async system(): Promise<{ path: string; doc: Json; etag?: string }> {
    this.systemPath ??= await this.findSystem();
    const r = await this.http('GET', this.systemPath);
    const doc = obj(r.json);
    if (!doc) throw this.unexpected(`${this.systemPath}`, r.json);
    const etag = typeof r.headers.etag === 'string' ? r.headers.etag : undefined;
    return { path: this.systemPath, doc, etag };
  }

  private async findSystem(): Promise<string> {
    const root = obj((await this.http('GET', '/redfish/v1/')).json);
    const systemsPath = odataId(root?.Systems);
    if (!systemsPath) throw this.unexpected('/redfish/v1/ Systems', root?.Systems);
    const coll = obj((await this.http('GET', systemsPath)).json);
    const members = Array.isArray(coll?.Members) ? coll.Members.map(odataId) : undefined;
    if (!members || members.some((m) => !m)) throw this.unexpected(`${systemsPath} Members`, coll?.Members);
    const paths = (members as string[]).slice(0, MAX_MEMBERS);
    const wantId = this.creds.systemId;
    if (wantId) {
      const byPath = paths.find((p) => lastSegment(p) === wantId);
      if (byPath) return byPath;
      for (const p of paths) if (obj((await this.http('GET', p)).json)?.Id === wantId) return p;
      throw new BmcError(
        'command',
        this.address,
        `BMC ${this.address} has no system with Id "${wantId}"`,
        `systems: ${paths.map(lastSegment).join(', ') || 'none'}`,
      );
    }
    if (paths.length === 1) return paths[0]!;
    throw new BmcError(
      'command',
      this.address,
      paths.length
        ? `BMC ${this.address} manages ${paths.length} systems; choose one with systemId`
        : `BMC ${this.address} lists no systems`,
      paths.map(lastSegment).join(', '),
    );
  }

  private command<T>(task: () => Promise<T>): Promise<T> {
    return this.pacer.run(this.address, task);
  }

  /** One request, retried (bounded) when the BMC did not answer; a POST only when it was never reached. */
  private async http(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    o: { body?: unknown; headers?: Record<string, string>; idempotent?: boolean } = {},
  ) {
    const retries = Math.max(0, Math.min(this.opts.retries ?? 1, 5));
    for (let attempt = 0; ; attempt++) {
      try {
        return await redfishRequest(this.target, method, path, {
          body: o.body,
          headers: o.headers,
          timeoutMs: this.opts.timeoutMs ?? 15_000,
          maxBody: this.opts.maxBodyBytes,
        });
      } catch (e) {
        const err = e as BmcError;
        // A POST (a reset) is repeated only when it never reached the BMC: a timeout may have reset it.
        const neverSent = err.kind === 'unreachable' && NEVER_SENT.test(err.detail);
        const retryable = o.idempotent === false ? neverSent : err.kind === 'unreachable' || err.kind === 'timeout';
        if (attempt >= retries || !retryable) throw err;
      }
    }
  }

  private unexpected(what: string, value: unknown): BmcError {
    const shown = JSON.stringify(value) ?? 'nothing';
    return new BmcError(
      'output',
      this.address,
      `Redfish ${what} on BMC ${this.address}: unexpected`,
      shown.slice(0, 200),
    );
  }
}
