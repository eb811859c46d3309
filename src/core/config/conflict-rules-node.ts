/**
 * Conflict rules of the typed documents about the node itself (container runtime, discovery,
 * host name, image cache, resolver, time sync, install, volumes), as data: Talos's words, in
 * Talos's table order. The Kubernetes documents' rules are in conflict-rules-kubernetes.ts.
 */
import { type ConflictRule, rule } from './conflict-rule.js';

export const NODE_CONFLICT_RULES: readonly ConflictRule[] = [
  rule(
    'CRIBaseRuntimeSpecConfig',
    'machine.baseRuntimeSpecOverrides',
    'set',
    'base runtime spec overrides are already set in v1alpha1 config',
  ),
  rule(
    'DiscoveryIdentityConfig',
    'cluster.id',
    'nonEmpty',
    'cluster identity is already configured in .cluster.id/.cluster.secret of the v1alpha1 config',
  ),
  rule(
    'DiscoveryIdentityConfig',
    'cluster.secret',
    'nonEmpty',
    'cluster identity is already configured in .cluster.id/.cluster.secret of the v1alpha1 config',
  ),
  rule(
    'DiscoveryServiceConfig',
    'cluster.discovery',
    'set',
    'discovery service is already configured in .cluster.discovery of the v1alpha1 config',
  ),
  rule('HostnameConfig', 'machine.network.hostname', 'nonEmpty', 'static hostname is already set in v1alpha1 config'),
  rule(
    'HostnameConfig',
    'machine.features.stableHostname',
    'true',
    'stable hostname is already set in v1alpha1 config',
  ),
  rule(
    'ImageCacheConfig',
    'machine.features.imageCache',
    'set',
    'image cache config is already set in v1alpha1 config',
  ),
  rule(
    'ResolverConfig',
    'machine.network.searchDomains',
    'set',
    '.machine.network.searchDomains is already set in v1alpha1 config',
  ),
  rule(
    'ResolverConfig',
    'machine.network.nameservers',
    'nonEmpty',
    '.machine.network.nameservers is already set in v1alpha1 config',
  ),
  rule(
    'ResolverConfig',
    'machine.network.disableSearchDomain',
    'true',
    '.machine.network.disableSearchDomain is already set in v1alpha1 config',
  ),
  rule(
    'ResolverConfig',
    'machine.features.hostDNS',
    'set',
    '.machine.features.hostDNS is already set in v1alpha1 config',
    { document: { has: 'hostDNS' } },
  ),
  rule(
    'TimeSyncConfig',
    'machine.time.disabled',
    'true',
    'time sync cannot be disabled in both v1alpha1 and new-style configuration',
  ),
  rule(
    'TimeSyncConfig',
    'machine.time.servers',
    'nonEmpty',
    'time servers cannot be specified in both v1alpha1 and new-style configuration',
  ),
  rule(
    'TimeSyncConfig',
    'machine.time.bootTimeout',
    'nonEmpty',
    'boot timeout cannot be specified in both v1alpha1 and new-style configuration',
  ),
  rule(
    'UnattendedInstallConfig',
    'machine.install',
    'set',
    'UnattendedInstallConfig config is incompatible with v1alpha1 config (.machine.install)',
  ),
  rule(
    'VolumeConfig',
    'machine.systemDiskEncryption.state',
    'set',
    'system disk encryption for "STATE" is configured in both v1alpha1.Config and VolumeConfig',
    {
      document: { name: 'STATE', has: 'encryption' },
    },
  ),
  rule(
    'VolumeConfig',
    'machine.systemDiskEncryption.ephemeral',
    'set',
    'system disk encryption for "EPHEMERAL" is configured in both v1alpha1.Config and VolumeConfig',
    {
      document: { name: 'EPHEMERAL', has: 'encryption' },
    },
  ),
];
