import type { Cluster, Machine } from '../types.js';

/**
 * Skeleton rendering: most machines of a cluster differ only in their host name and install disk.
 * Rendering a config (clone the base, apply patches, validate against the schema, serialise to
 * YAML) costs ~0.4 ms; a boot storm of a whole rack would do it once per machine. Instead the
 * renderer renders a role's config once with sentinel values in those two places and writes each
 * machine's values into the YAML text. That is only equivalent to a full render when
 *  - nothing else in the config depends on the machine: no machine patches, no install-disk
 *    selector, no whole-disk reimage, no `{{…}}` template variables in the cluster's patches (document providers are
 *    part of the skeleton's key), and
 *  - each value serialises as the same plain YAML scalar the sentinel did (no quoting), and the
 *    schema treats both alike (Talos's schema types both fields as a plain string).
 * Everything else takes the full path. test/core/config-skeleton.test.ts compares both paths.
 */

export const SENTINEL_HOSTNAME = 'metalboot-sentinel-hostname-5f0c1e';
export const SENTINEL_DISK = '/dev/metalboot-sentinel-disk-5f0c1e';
const SENTINEL_MARK = 'metalboot-sentinel-';

/**
 * Host names the YAML serialiser writes unquoted: starts with a letter (so never a number), and is
 * not a YAML 1.2 keyword or a YAML 1.1 boolean (both get quoted). Registration already restricted
 * host names to RFC 1123, so this only turns away the rare `123`, `yes` or `null`.
 */
const PLAIN_HOSTNAME = /^[a-z][a-z0-9.-]*$/;
const QUOTED_WORDS = new Set(['null', 'true', 'false', 'y', 'n', 'yes', 'no', 'on', 'off']);
/** Device paths are written plain: they start with `/`, and `:` is only special before a space. */
const PLAIN_DISK = /^\/dev\/[A-Za-z0-9/_.:-]+$/;

const plainHostname = (h: string) => PLAIN_HOSTNAME.test(h) && !QUOTED_WORDS.has(h) && !h.includes(SENTINEL_MARK);
const plainDisk = (d: string) => PLAIN_DISK.test(d) && !d.includes(SENTINEL_MARK);

/** Whether this machine's config can be made from its role's skeleton. */
export function skeletonApplies(cluster: Cluster, machine: Machine): boolean {
  if (machine.patches.length > 0 || machine.installDiskSelector || machine.reimage?.wipe === 'disk') return false;
  if (cluster.patches.some((p) => p.includes('{{'))) return false;
  if (machine.hostname !== null && !plainHostname(machine.hostname)) return false;
  if (machine.installDisk !== null && !plainDisk(machine.installDisk)) return false;
  return true;
}

/** What the skeleton depends on besides the cluster and role: which of the two settings are set. */
export function skeletonShape(machine: Machine): string {
  return `${machine.hostname !== null ? 'h' : '-'}${machine.installDisk !== null ? 'd' : '-'}`;
}

/** The machine as the skeleton is rendered: its own settings replaced by the sentinels. */
export function sentinelMachine(machine: Machine): Machine {
  return {
    ...machine,
    hostname: machine.hostname !== null ? SENTINEL_HOSTNAME : null,
    installDisk: machine.installDisk !== null ? SENTINEL_DISK : null,
  };
}

/**
 * A rendered skeleton is usable only if each sentinel the machine needs landed in the text exactly
 * where the renderer put it, and nowhere else (the inputs themselves never contain the mark).
 */
export function skeletonUsable(yaml: string, machine: Machine, inputs: readonly string[]): boolean {
  if (inputs.some((text) => text.includes(SENTINEL_MARK))) return false;
  const count = (needle: string) => yaml.split(needle).length - 1;
  const wantHost = machine.hostname !== null;
  const wantDisk = machine.installDisk !== null;
  return (
    count(SENTINEL_HOSTNAME) === (wantHost ? 1 : 0) &&
    count(SENTINEL_DISK) === (wantDisk ? 1 : 0) &&
    count(SENTINEL_MARK) === (wantHost ? 1 : 0) + (wantDisk ? 1 : 0)
  );
}

/** The machine's config from its skeleton's text. */
export function fillSkeleton(yaml: string, machine: Machine): string {
  let out = yaml;
  if (machine.installDisk !== null) out = out.split(SENTINEL_DISK).join(machine.installDisk);
  if (machine.hostname !== null) out = out.split(SENTINEL_HOSTNAME).join(machine.hostname);
  return out;
}
