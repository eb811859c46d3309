import type { Actor } from '../registry/clusters.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { parseMac } from '../registry/mac.js';
import type { StoredBmc, Store } from '../ports/types.js';
import type { Timeline } from '../timeline/timeline.js';

/**
 * Seals BMC passwords at rest (the composition root builds it from a key in the data dir), so a
 * copy of the database alone does not reveal them. `context` (the machine's MAC) is bound into
 * the sealed text: a sealed password moved to another machine's row does not open.
 */
export interface SecretSealer {
  seal(plain: string, context: string): string;
  open(sealed: string, context: string): string;
}

export interface BmcInput {
  driver: 'ipmi' | 'redfish';
  address: string;
  username: string;
  password: string;
  systemId?: string | null;
  insecureTls?: boolean;
  caCert?: string | null;
}

/** What the API shows: never the password, sealed or not. */
export type BmcView = Omit<StoredBmc, 'passwordSealed'>;

function viewOf({ passwordSealed: _sealed, ...view }: StoredBmc): BmcView {
  return view;
}

/** What a power driver needs: the view plus the password, opened only for the call. */
export interface BmcCredentials extends BmcView {
  password: string;
}

// host: a DNS name, an IPv4 address, or an IPv6 address in brackets; then an optional port.
const ADDRESS =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;
const PRINTABLE = /^[\x20-\x7e]+$/;
const PEM_CERTS = /^(?:-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;

function checked(input: BmcInput): BmcInput {
  if (input.driver !== 'ipmi' && input.driver !== 'redfish')
    throw new ValidationError('driver must be "ipmi" or "redfish"', 'driver');
  const address = ADDRESS.exec(input.address ?? '');
  if (!address || input.address.length > 255 || (address[1] !== undefined && (+address[1] < 1 || +address[1] > 65535)))
    throw new ValidationError('address must be host or host:port (an IPv6 address in brackets)', 'address');
  if (!PRINTABLE.test(input.username ?? '') || input.username.length > 64)
    throw new ValidationError('username must be 1–64 printable ASCII characters', 'username');
  if (!PRINTABLE.test(input.password ?? '') || input.password.length > 128)
    throw new ValidationError('password must be 1–128 printable ASCII characters', 'password');
  if (input.systemId != null && (!PRINTABLE.test(input.systemId) || input.systemId.length > 128))
    throw new ValidationError('systemId must be 1–128 printable ASCII characters', 'systemId');
  if (input.driver === 'ipmi' && (input.systemId != null || input.insecureTls || input.caCert != null))
    throw new ValidationError(
      'systemId, insecureTls and caCert are Redfish settings',
      input.systemId != null ? 'systemId' : input.insecureTls ? 'insecureTls' : 'caCert',
    );
  if (input.caCert != null && (input.caCert.length > 16_384 || !PEM_CERTS.test(input.caCert.trim())))
    throw new ValidationError(
      'caCert must be PEM certificates (-----BEGIN CERTIFICATE-----…), at most 16 KiB',
      'caCert',
    );
  if (input.caCert != null && input.insecureTls)
    throw new ValidationError('a pinned caCert and insecureTls contradict each other: choose one', 'caCert');
  return input;
}

/** A machine's BMC: set, shown without its password, cleared; opened only for a power driver. */
export class BmcService {
  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly sealer: SecretSealer | null,
  ) {}

  async set(macInput: string, input: BmcInput, actor: Actor): Promise<BmcView> {
    const mac = parseMac(macInput);
    const bmc = checked(input);
    if (!this.sealer) throw new ConflictError('BMC passwords cannot be stored: this metalboot has no secrets key');
    const stored: StoredBmc = {
      driver: bmc.driver,
      address: bmc.address,
      username: bmc.username,
      systemId: bmc.systemId ?? null,
      insecureTls: bmc.insecureTls ?? false,
      caCert: bmc.caCert ?? null,
      passwordSealed: this.sealer.seal(bmc.password, mac),
      updatedAt: this.timeline.now(),
    };
    if (!(await this.store.bmc.put(mac, stored))) throw new NotFoundError(`machine ${mac} is not registered`);
    const view = viewOf(stored);
    // The password goes nowhere but the sealed column: not the audit log, not the timeline.
    const shown = { driver: view.driver, address: view.address, username: view.username };
    await this.timeline.audit({
      actor: actor.actor,
      action: 'machine.bmc.set',
      target: mac,
      detail: shown,
      sourceIp: actor.sourceIp,
    });
    await this.timeline.record(mac, 'bmc-set', shown, { sourceIp: actor.sourceIp });
    return view;
  }

  async clear(macInput: string, actor: Actor): Promise<void> {
    const mac = parseMac(macInput);
    if (!(await this.store.bmc.delete(mac))) throw new NotFoundError(`machine ${mac} has no BMC`);
    await this.timeline.audit({
      actor: actor.actor,
      action: 'machine.bmc.delete',
      target: mac,
      detail: {},
      sourceIp: actor.sourceIp,
    });
    await this.timeline.record(mac, 'bmc-removed', {}, { sourceIp: actor.sourceIp });
  }

  async view(macInput: string): Promise<BmcView | null> {
    const stored = await this.store.bmc.get(parseMac(macInput));
    return stored ? viewOf(stored) : null;
  }

  /** For a power driver only: the password opened for this one call. */
  async credentials(macInput: string): Promise<BmcCredentials | undefined> {
    const mac = parseMac(macInput);
    const stored = await this.store.bmc.get(mac);
    if (!stored || !this.sealer) return undefined;
    return { ...viewOf(stored), password: this.sealer.open(stored.passwordSealed, mac) };
  }
}
