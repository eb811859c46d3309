/**
 * Conflict rules of the Kubernetes typed documents (Kube*Config, KubeletConfig): the v1alpha1
 * `.cluster.*` and `.machine.kubelet` settings they replace, as data, in Talos's words and table
 * order. The node's other documents are in conflict-rules-node.ts.
 */
import { type ConflictRule, rule } from './conflict-rule.js';

export const KUBERNETES_CONFLICT_RULES: readonly ConflictRule[] = [
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
];
