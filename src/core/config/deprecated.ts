/**
 * Fields of the main v1alpha1 document that Talos v1.13 still decodes but leaves out of its JSON
 * schema (they are `docgen:nodoc`/deprecated in pkg/machinery/config/types/v1alpha1). talosctl's own
 * output uses some of them (`persist: true`), so a validator must accept them, with a warning.
 *
 * The schemas below restate the Go types, so that a typo inside a deprecated section
 * (`machine.network.hostnam`) is still an unknown-key error.
 */
type JsonSchema = Record<string, unknown>;

const str: JsonSchema = { type: 'string' };
const bool: JsonSchema = { type: 'boolean' };
const int: JsonSchema = { type: 'integer' };
const strList: JsonSchema = { type: 'array', items: str };
const duration: JsonSchema = { type: 'string' };
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  properties,
  additionalProperties: false,
});
const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
const mapOf = (values: JsonSchema): JsonSchema => ({ type: 'object', additionalProperties: values });

const deviceSelector = obj({
  busPath: str,
  hardwareAddr: str,
  permanentAddr: str,
  pciID: str,
  driver: str,
  physical: bool,
});
const route = obj({ network: str, gateway: str, source: str, metric: int, mtu: int });
const dhcpOptions = obj({ routeMetric: int, ipv4: bool, ipv6: bool, duidv6: str });
const vip = obj({ ip: str, equinixMetal: obj({ apiToken: str }), hcloud: obj({ apiToken: str }) });
const bond = obj({
  interfaces: strList,
  deviceSelectors: list(deviceSelector),
  arpIPTarget: strList,
  ...Object.fromEntries(
    [
      'mode',
      'xmitHashPolicy',
      'lacpRate',
      'adActorSystem',
      'arpValidate',
      'arpAllTargets',
      'primary',
      'primaryReselect',
      'failOverMac',
      'adSelect',
    ].map((k) => [k, str]),
  ),
  ...Object.fromEntries(
    [
      'miimon',
      'updelay',
      'downdelay',
      'arpInterval',
      'resendIgmp',
      'minLinks',
      'lpInterval',
      'packetsPerSlave',
      'numPeerNotif',
      'tlbDynamicLb',
      'allSlavesActive',
      'adActorSysPrio',
      'adUserPortKey',
      'peerNotifyDelay',
    ].map((k) => [k, int]),
  ),
  useCarrier: bool,
});
const vlan = obj({
  addresses: strList,
  cidr: str,
  routes: list(route),
  dhcp: bool,
  vlanId: int,
  mtu: int,
  vip,
  dhcpOptions,
});
const wireguard = obj({
  privateKey: str,
  listenPort: int,
  firewallMark: int,
  peers: list(obj({ publicKey: str, endpoint: str, persistentKeepaliveInterval: duration, allowedIPs: strList })),
});
const networkInterface = obj({
  interface: str,
  deviceSelector,
  addresses: strList,
  cidr: str,
  routes: list(route),
  bond,
  bridge: obj({ interfaces: strList, stp: obj({ enabled: bool }), vlan: obj({ vlanFiltering: bool }) }),
  bridgePort: obj({ master: str }),
  vlans: list(vlan),
  mtu: int,
  dhcp: bool,
  ignore: bool,
  dummy: bool,
  dhcpOptions,
  wireguard,
  vip,
});
const network = obj({
  hostname: str,
  interfaces: list(networkInterface),
  nameservers: strList,
  searchDomains: strList,
  extraHostEntries: list(obj({ ip: str, aliases: strList })),
  kubespan: obj({
    enabled: bool,
    advertiseKubernetesNetworks: bool,
    allowDownPeerBypass: bool,
    harvestExtraEndpoints: bool,
    mtu: int,
    filters: obj({ endpoints: strList }),
  }),
  disableSearchDomain: bool,
});
const pem = obj({ crt: str, key: str });
const registries = obj({
  mirrors: mapOf(obj({ endpoints: strList, overridePath: bool, skipFallback: bool })),
  config: mapOf(
    obj({
      tls: obj({ clientIdentity: pem, ca: str, insecureSkipVerify: bool }),
      auth: obj({ username: str, password: str, auth: str, identityToken: str }),
    }),
  ),
});
const encryption = obj({
  provider: str,
  keys: list(
    obj({
      static: obj({ passphrase: str }),
      nodeID: obj({}),
      kms: obj({ endpoint: str }),
      slot: int,
      tpm: obj({ checkSecurebootStatusOnEnroll: bool }),
    }),
  ),
  cipher: str,
  keySize: int,
  blockSize: int,
  options: strList,
});

export interface DeprecatedField {
  /** The schema `$defs` entry that lacks the field. */
  readonly definition: string;
  /** Path of the field in the main document, for the warning. */
  readonly path: readonly string[];
  readonly schema: JsonSchema;
  readonly advice: string;
}

const field = (definition: string, path: string[], schema: JsonSchema, advice: string): DeprecatedField => ({
  definition,
  path,
  schema,
  advice,
});

export const DEPRECATED_FIELDS: readonly DeprecatedField[] = [
  field('v1alpha1.Config', ['persist'], bool, 'no longer supported, Talos ignores it'),
  field(
    'v1alpha1.MachineConfig',
    ['machine', 'network'],
    network,
    'use HostnameConfig, LinkConfig, ResolverConfig and the other network documents',
  ),
  field(
    'v1alpha1.MachineConfig',
    ['machine', 'disks'],
    list(obj({ device: str, partitions: list(obj({ size: { type: ['integer', 'string'] }, mountpoint: str })) })),
    'use UserVolumeConfig',
  ),
  field('v1alpha1.MachineConfig', ['machine', 'env'], mapOf(str), 'use an EnvironmentConfig document'),
  field(
    'v1alpha1.MachineConfig',
    ['machine', 'time'],
    obj({ disabled: bool, servers: strList, bootTimeout: duration }),
    'use a TimeSyncConfig document',
  ),
  field(
    'v1alpha1.MachineConfig',
    ['machine', 'registries'],
    registries,
    'use RegistryMirrorConfig, RegistryAuthConfig and RegistryTLSConfig documents',
  ),
  field(
    'v1alpha1.MachineConfig',
    ['machine', 'systemDiskEncryption'],
    obj({ state: encryption, ephemeral: encryption }),
    'use the encryption of VolumeConfig documents',
  ),
  field(
    'v1alpha1.InstallConfig',
    ['machine', 'install', 'extraKernelArgs'],
    strList,
    'build an installer image with Image Factory instead',
  ),
  field(
    'v1alpha1.InstallConfig',
    ['machine', 'install', 'extensions'],
    list(obj({ image: str })),
    'use a custom installer image',
  ),
  field('v1alpha1.InstallConfig', ['machine', 'install', 'bootloader'], bool, 'it never had an effect'),
  field('v1alpha1.FeaturesConfig', ['machine', 'features', 'rbac'], bool, 'RBAC is always enabled'),
  field(
    'v1alpha1.FeaturesConfig',
    ['machine', 'features', 'stableHostname'],
    bool,
    'use HostnameConfig (auto: stable)',
  ),
  field('v1alpha1.FeaturesConfig', ['machine', 'features', 'apidCheckExtKeyUsage'], bool, 'always enabled'),
  field(
    'v1alpha1.ClusterConfig',
    ['cluster', 'allowSchedulingOnMasters'],
    bool,
    'use cluster.allowSchedulingOnControlPlanes',
  ),
  field(
    'v1alpha1.APIServerConfig',
    ['cluster', 'apiServer', 'disablePodSecurityPolicy'],
    bool,
    'Kubernetes removed PodSecurityPolicy; Talos ignores it',
  ),
  field('v1alpha1.EtcdConfig', ['cluster', 'etcd', 'subnet'], str, 'use cluster.etcd.advertisedSubnets'),
];

/**
 * Returns a copy of the schema's `$defs` with the deprecated fields added where a definition lacks
 * them; a later schema that documents a field again keeps its own definition.
 */
export function withDeprecatedFields(defs: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const patched: Record<string, JsonSchema> = { ...defs };
  for (const { definition, path, schema } of DEPRECATED_FIELDS) {
    const def = patched[definition];
    const properties = def?.properties as Record<string, JsonSchema> | undefined;
    const key = path[path.length - 1] as string;
    if (!def || !properties || key in properties) continue;
    patched[definition] = { ...def, properties: { ...properties, [key]: schema } };
  }
  return patched;
}
