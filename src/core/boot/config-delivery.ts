/**
 * The config URL (`/config/<mac>?token=…`), BootService.fetchConfig's body: every check a config
 * request must pass before the rendered config (the cluster's keys) is served, and what each
 * refusal records. Its own file because it is the security boundary of the boot.
 */
import { inInstallWindow } from '../timeline/lifecycle.js';
import { tryParseMac } from '../registry/mac.js';
import type { BootDeps, ConfigRefused, ConfigResult } from './boot-types.js';
import { hashToken, sameHash } from './config-token.js';

/**
 * The config URL. Every refusal is audited (coalesced per source and reason per minute) and on
 * the timeline once per audit entry: configs carry the cluster's keys.
 */
export async function deliverConfig(
  deps: BootDeps,
  macInput: string,
  token: string | undefined,
  sourceIp: string,
): Promise<ConfigResult> {
  const mac = tryParseMac(macInput);
  const refuse = async (status: 400 | 403 | 404, reason: string, onTimeline: boolean): Promise<ConfigRefused> => {
    await deps.guard.refuseConfig(mac ?? null, sourceIp, reason, onTimeline);
    return {
      status,
      error: status === 404 ? 'not_found' : status === 400 ? 'validation' : 'forbidden',
      message: `config refused: ${reason}`,
    };
  };
  if (!mac) return refuse(400, 'malformed MAC address in the config URL', false);
  const machine = await deps.store.machines.get(mac);
  if (!machine || machine.state === 'discovered') return refuse(404, 'unknown machine', true);
  await deps.guard.checkConfigRequest(mac, sourceIp);
  const t = token ? await deps.store.tokens.forMachine(mac) : undefined;
  if (!t || !sameHash(t.tokenHash, hashToken(token!)))
    return token ? refuse(403, 'wrong token', true) : refuse(403, 'no token', true);
  if (Date.parse(t.expiresAt) <= deps.timeline.clockMs()) return refuse(403, 'token expired', true);
  // The address stays out of the reason (coalesced by it); the message names it for the client.
  if (t.sourceIp !== sourceIp) {
    const refused = await refuse(
      403,
      'request from another address than the one the boot script was fetched from',
      true,
    );
    return {
      ...refused,
      message: `config refused: request from ${sourceIp}, but the boot script was fetched from ${t.sourceIp}`,
    };
  }
  if (!inInstallWindow(machine)) return refuse(403, 'machine is installed and not being reimaged', true);
  const cluster = machine.cluster ? await deps.store.clusters.get(machine.cluster) : undefined;
  if (!cluster) return refuse(404, 'machine has no cluster', true);
  const result = await deps.renderer.render(cluster, machine);
  if (!result.ok) {
    await deps.timeline.record(machine, 'config-invalid', { errors: result.errors }, { sourceIp });
    await deps.timeline.audit({
      actor: 'machine',
      action: 'config.invalid',
      target: mac,
      detail: { errors: result.errors },
      sourceIp,
    });
    return {
      status: 503,
      error: 'config_invalid',
      message: `rendered config is invalid, not served: ${result.errors.join('; ')}`,
    };
  }
  const bytes = Buffer.byteLength(result.yaml);
  // The cluster's own warnings (talosctl's `persist: true`) were said at cluster create and by doctor.
  const warnings = deps.renderer.clusterWarnings.own(cluster, machine.role!, result.warnings);
  deps.guard.delivered(mac, t.tokenHash, sourceIp);
  await deps.timeline.record(
    machine,
    'config-delivered',
    { bytes, ...(warnings.length ? { warnings } : {}) },
    { sourceIp, signal: 'config' },
  );
  await deps.timeline.audit({
    actor: 'machine',
    action: 'config.delivered',
    target: mac,
    detail: { bytes },
    sourceIp,
  });
  return { status: 200, body: result.yaml, warnings: result.warnings };
}
