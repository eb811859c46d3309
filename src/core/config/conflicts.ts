/**
 * Talos's conflict rules between typed documents and their v1alpha1 counterparts, as data.
 *
 * Talos refuses a config holding both a typed document and the old v1alpha1 setting it replaces
 * (`V1Alpha1ConflictValidate` under pkg/machinery/config/types/, siderolabs/talos v1.14.0-rc.1; the
 * rows follow the table in test/fixtures/talos/README's provenance and each Go function's
 * condition). `says` is Talos's own error text; the error metalboot gives adds which document to
 * use instead, so the operator knows the way out.
 */
import { describeDocument, findMainDocument, type ConfigDocument } from './documents.js';
import { formatPath, getKey, isConfigMap, type ConfigMap, type ConfigValue } from './values.js';

/**
 * When a v1alpha1 value counts as set, after Go's decoding:
 * - `set`: present and not null (a non-nil pointer, map or slice: `kubelet: {}` is set);
 * - `nonEmpty`: a non-empty string or list, a non-zero number (Go compares with "" / 0 / len > 0);
 * - `true`: the boolean true (a `*bool` dereferenced, or a plain bool).
 */
export type SetWhen = 'set' | 'nonEmpty' | 'true';

export interface ConflictRule {
  /** The typed document that refuses the v1alpha1 setting. */
  readonly kind: string;
  /** Only documents of the kind that match (VolumeConfig: only STATE/EPHEMERAL with encryption). */
  readonly document?: { readonly name?: string; readonly has?: string };
  /** Path of the v1alpha1 setting in the main document. */
  readonly path: readonly string[];
  readonly when: SetWhen;
  /** Talos's error text. */
  readonly says: string;
  /** The document to use instead, when it is not `kind` itself. */
  readonly instead?: string;
}

const rule = (
  kind: string,
  path: string,
  when: SetWhen,
  says: string,
  extra: Partial<ConflictRule> = {},
): ConflictRule => ({
  kind,
  path: path.split('.'),
  when,
  says,
  ...extra,
});

export const CONFLICT_RULES: readonly ConflictRule[] = [
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
    'KubeAPIServerCAConfig',
    'cluster.ca',
    'set',
    'kube-apiserver CA is already set in v1alpha1 config (.cluster.ca)',
  ),
  rule(
    'KubeAPIServerConfig',
    'cluster.apiServer',
    'set',
    'kube-apiserver config is already set in v1alpha1 config (.cluster.apiServer)',
  ),
  rule(
    'KubeAPIServerConfig',
    'cluster.controlPlane.localAPIServerPort',
    'nonEmpty',
    'kube-apiserver API port is already set in v1alpha1 config (.cluster.controlPlane.localAPIServerPort)',
  ),
  rule(
    'KubeAdmissionControlConfig',
    'cluster.apiServer.admissionControl',
    'nonEmpty',
    'admission control plugin config is already set in v1alpha1 config',
  ),
  rule(
    'KubeAggregatorCAConfig',
    'cluster.aggregatorCA',
    'set',
    'kube-apiserver aggregator CA is already set in v1alpha1 config (.cluster.aggregatorCA), please remove it and use the new KubeAggregatorCAConfig document instead',
  ),
  rule(
    'KubeAuditPolicyConfig',
    'cluster.apiServer.auditPolicy',
    'nonEmpty',
    'audit policy config is already set in v1alpha1 config',
  ),
  // Talos checks the admission plugins here too (authorization.go); they move to KubeAdmissionControlConfig.
  rule(
    'KubeAuthorizerConfig',
    'cluster.apiServer.admissionControl',
    'nonEmpty',
    'admission control plugin config is already set in v1alpha1 config',
    {
      instead: 'KubeAdmissionControlConfig',
    },
  ),
  rule(
    'KubeClusterConfig',
    'cluster.clusterName',
    'nonEmpty',
    'cluster name is already set in the v1alpha1 config (.cluster.clusterName). Please remove it and use only the new KubeClusterConfig document to avoid conflicts',
  ),
  rule(
    'KubeClusterConfig',
    'cluster.controlPlane.endpoint',
    'set',
    'cluster endpoint is already set in the v1alpha1 config (.cluster.controlPlane.endpoint). Please remove it and use only the new KubeClusterConfig document to avoid conflicts',
  ),
  rule(
    'KubeControllerManagerConfig',
    'cluster.controllerManager',
    'set',
    'kube-controller-manager config is already set in v1alpha1 config (.cluster.controllerManager)',
  ),
  rule(
    'KubeControllerManagerConfig',
    'machine.controlPlane.controllerManager',
    'set',
    'kube-controller-manager config is already set in v1alpha1 config (.machine.controlplane.controllerManager)',
  ),
  rule(
    'KubeCoreDNSConfig',
    'cluster.coreDNS',
    'set',
    'CoreDNS config is already set in v1alpha1 config (.cluster.coreDNS)',
  ),
  rule(
    'KubeCredentialProviderConfig',
    'machine.kubelet',
    'set',
    'cannot use KubeCredentialProviderConfig with legacy kubelet configuration (.machine.kubelet)',
    {
      instead: 'KubeletConfig',
    },
  ),
  rule(
    'KubeEtcdEncryptionConfig',
    'cluster.secretboxEncryptionSecret',
    'nonEmpty',
    'etcd encryption config is already set in v1alpha1 config',
  ),
  rule(
    'KubeEtcdEncryptionConfig',
    'cluster.aescbcEncryptionSecret',
    'nonEmpty',
    'etcd encryption config is already set in v1alpha1 config',
  ),
  rule(
    'KubeFlannelCNIConfig',
    'cluster.network',
    'set',
    "cluster network config in v1alpha1 config (.machine.cluster.network) can't be used with KubeFlannelCNIConfig document, please remove it to avoid conflicts",
    { instead: 'KubeNetworkConfig' },
  ),
  rule(
    'KubeNetworkConfig',
    'cluster.network',
    'set',
    'cluster network config is already set in the v1alpha1 config (.machine.cluster.network). Please remove it and use only the new KubeNetworkConfig document to avoid conflicts',
  ),
  rule(
    'KubeNodeConfig',
    'cluster.allowSchedulingOnControlPlanes',
    'set',
    '.cluster.allowSchedulingOnControlPlanes is already set in v1alpha1 config',
  ),
  rule(
    'KubeNodeConfig',
    'cluster.allowSchedulingOnMasters',
    'set',
    '.cluster.allowSchedulingOnMasters is already set in v1alpha1 config',
  ),
  rule(
    'KubeNodeConfig',
    'machine.kubelet.skipNodeRegistration',
    'set',
    '.machine.kubelet.skipNodeRegistration is already set in v1alpha1 config',
  ),
  rule(
    'KubeNodeConfig',
    'machine.kubelet.registerWithFQDN',
    'set',
    '.machine.kubelet.registerWithFQDN is already set in v1alpha1 config',
  ),
  rule('KubeNodeConfig', 'machine.kubelet.nodeIP', 'set', '.machine.kubelet.nodeIP is already set in v1alpha1 config'),
  rule('KubeNodeConfig', 'machine.nodeLabels', 'set', '.machine.nodeLabels is already set in v1alpha1 config'),
  rule(
    'KubeNodeConfig',
    'machine.nodeAnnotations',
    'set',
    '.machine.nodeAnnotations is already set in v1alpha1 config',
  ),
  rule('KubeNodeConfig', 'machine.nodeTaints', 'set', '.machine.nodeTaints is already set in v1alpha1 config'),
  rule(
    'KubePrismConfig',
    'machine.features.kubePrism',
    'set',
    "KubePrism config in v1alpha1 config (.machine.features.kubePrism) can't be used with KubePrismConfig document, please remove it to avoid conflicts",
  ),
  rule(
    'KubeProxyConfig',
    'cluster.proxy',
    'set',
    "cluster proxy config in v1alpha1 config (.machine.cluster.proxy) can't be used with KubeProxyConfig document, please remove it to avoid conflicts",
  ),
  rule(
    'KubeSchedulerConfig',
    'cluster.scheduler',
    'set',
    'kube-scheduler config is already set in v1alpha1 config (.cluster.scheduler)',
  ),
  rule(
    'KubeSchedulerConfig',
    'machine.controlPlane.scheduler',
    'set',
    'kube-scheduler config is already set in v1alpha1 config (.machine.controlplane.scheduler)',
  ),
  rule(
    'KubeServiceAccountConfig',
    'cluster.serviceAccount',
    'set',
    'service account is already set in v1alpha1 config (.cluster.serviceAccount)',
  ),
  rule(
    'KubeSpanConfig',
    'machine.network.kubespan',
    'set',
    'kubespan is already configured in v1alpha1 machine.network.kubespan',
  ),
  rule(
    'KubeTalosAPIAccessConfig',
    'machine.features.kubernetesTalosAPIAccess',
    'set',
    '.machine.features.kubernetesTalosAPIAccess is already set in v1alpha1 config',
  ),
  rule(
    'KubeletConfig',
    'machine.kubelet',
    'set',
    'kubelet config is already set in v1alpha1 config (.machine.kubelet)',
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

/** What to do instead, in one phrase: `use a KubeletConfig document instead of .machine.kubelet`. */
export function conflictAdvice(r: ConflictRule): string {
  return `use a ${r.instead ?? r.kind} document instead of .${r.path.join('.')}`;
}

/**
 * The errors Talos would give for this config: one per typed document whose v1alpha1 counterpart
 * is set (the first rule of a document that fires, as Talos returns at its first check).
 */
export function conflictErrors(documents: readonly ConfigDocument[]): string[] {
  const main = findMainDocument(documents);
  if (!main) return [];
  const errors: string[] = [];
  for (const doc of documents) {
    if (doc.identity.type !== 'typed') continue;
    const { kind, name } = doc.identity;
    const hit = CONFLICT_RULES.find(
      (r) => r.kind === kind && documentMatches(r, name, doc.data) && isSet(valueAt(main.data, r.path), r.when),
    );
    if (hit) errors.push(`${describeDocument(doc.identity)}: ${hit.says}; ${conflictAdvice(hit)}`);
  }
  return errors;
}

/** Rules naming this v1alpha1 path (exactly), for deprecation advice. */
export function rulesForPath(path: readonly string[]): ConflictRule[] {
  const key = formatPath(path);
  return CONFLICT_RULES.filter((r) => formatPath(r.path) === key);
}

function documentMatches(r: ConflictRule, name: string | undefined, data: ConfigMap): boolean {
  if (r.document?.name !== undefined && r.document.name !== name) return false;
  if (r.document?.has !== undefined && !isSet(getKey(data, r.document.has), 'nonZero')) return false;
  return true;
}

function isSet(value: ConfigValue | undefined, when: SetWhen | 'nonZero'): boolean {
  if (value === undefined || value === null) return false;
  switch (when) {
    case 'set':
      return true;
    case 'true':
      return value === true;
    case 'nonEmpty':
      if (Array.isArray(value) || typeof value === 'string') return value.length > 0;
      if (isConfigMap(value)) return Object.keys(value).length > 0;
      return value !== 0 && value !== false;
    case 'nonZero':
      // Go's value.IsZero on a struct: any field set to a non-zero value.
      if (isConfigMap(value)) return Object.values(value).some((v) => isSet(v, 'nonZero'));
      return isSet(value, 'nonEmpty');
  }
}

function valueAt(data: ConfigValue, path: readonly string[]): ConfigValue | undefined {
  let node: ConfigValue | undefined = data;
  for (const key of path) node = isConfigMap(node) ? getKey(node, key) : undefined;
  return node;
}
