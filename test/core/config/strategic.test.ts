import t from 'tap';

import { ConfigError, parseConfig, serializeConfig, type ConfigDocument } from '../../../src/core/config/documents.js';
import { applyStrategicPatch, parseStrategicPatch } from '../../../src/core/config/strategic.js';

const BASE = `version: v1alpha1
machine:
  type: worker
  token: abc
  certSANs: [a]
  install:
    disk: /dev/sda
    wipe: true
  nodeLabels:
    rack: r1
  network:
    interfaces:
      - deviceSelector: {hardwareAddr: "aa:*"}
        mtu: 1500
cluster:
  network:
    podSubnets: [10.244.0.0/16]
    serviceSubnets: [10.96.0.0/12]
  apiServer:
    admissionControl:
      - name: PodSecurity
        configuration: {defaults: {enforce: baseline}, exemptions: {namespaces: [kube-system]}}
---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: allow-k8s
portSelector:
  ports: [6443]
  protocol: tcp
ingress:
  - subnet: 10.0.0.0/8
---
apiVersion: v1alpha1
kind: HostnameConfig
auto: stable
`;

const patch = (docs: ConfigDocument[], text: string): ConfigDocument[] =>
  applyStrategicPatch(docs, parseStrategicPatch(text));
const main = (docs: ConfigDocument[]): Record<string, any> => docs[0]!.data as Record<string, any>;

t.test('maps merge, plain lists append, merge:"replace" lists are replaced', async (t) => {
  const docs = patch(
    parseConfig(BASE),
    `machine:
  certSANs: [b]
  nodeLabels: {zone: z1}
cluster:
  network:
    podSubnets: [10.1.0.0/16]
    serviceSubnets: []
`,
  );
  const m = main(docs);
  t.strictSame(m.machine.certSANs, ['a', 'b']);
  t.strictSame(m.machine.nodeLabels, { rack: 'r1', zone: 'z1' });
  t.strictSame(m.cluster.network.podSubnets, ['10.1.0.0/16']);
  t.strictSame(m.cluster.network.serviceSubnets, [], 'an explicit empty list replaces too, as in Talos');
});

t.test('scalars: a patch value wins, except Go zero values "" and 0; false always wins; null is no-op', async (t) => {
  const m = main(
    patch(
      parseConfig(BASE),
      `machine:\n  type: controlplane\n  token: ""\n  install: {wipe: false, disk: null}\n  network: {interfaces: [{deviceSelector: {hardwareAddr: "aa:*"}, mtu: 0}]}\n`,
    ),
  );
  t.equal(m.machine.type, 'controlplane');
  t.equal(m.machine.token, 'abc', '"" does not clear a string');
  t.equal(m.machine.install.wipe, false);
  t.equal(m.machine.install.disk, '/dev/sda');
  t.equal(m.machine.network.interfaces[0].mtu, 1500, '0 does not clear a number');
});

t.test('network interfaces merge by deviceSelector; admission plugins by name', async (t) => {
  const m = main(
    patch(
      parseConfig(BASE),
      `machine:
  network:
    interfaces:
      - deviceSelector: {hardwareAddr: "aa:*"}
        dhcp: true
      - deviceSelector: {hardwareAddr: "bb:*"}
        dhcp: false
      - dhcp: true
cluster:
  apiServer:
    admissionControl:
      - name: PodSecurity
        configuration: {defaults: {enforce: restricted}, exemptions: {namespaces: [ci]}}
      - name: EventRateLimit
        configuration: {}
`,
    ),
  );
  t.strictSame(m.machine.network.interfaces, [
    { deviceSelector: { hardwareAddr: 'aa:*' }, mtu: 1500, dhcp: true },
    { deviceSelector: { hardwareAddr: 'bb:*' }, dhcp: false },
    { dhcp: true },
  ]);
  t.strictSame(m.cluster.apiServer.admissionControl, [
    {
      name: 'PodSecurity',
      configuration: { defaults: { enforce: 'restricted' }, exemptions: { namespaces: ['kube-system', 'ci'] } },
    },
    { name: 'EventRateLimit', configuration: {} },
  ]);
});

t.test('typed documents: matched by identity, merged with their own rules, or appended', async (t) => {
  const docs = patch(
    parseConfig(BASE),
    `apiVersion: v1alpha1
kind: NetworkRuleConfig
name: allow-k8s
portSelector:
  ports: [50000, 50001]
ingress:
  - subnet: 192.168.0.0/16
---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: other
portSelector: {ports: [22], protocol: tcp}
---
apiVersion: v1alpha1
kind: HostnameConfig
auto: "off"
hostname: node-1
`,
  );
  t.strictSame(docs[1]!.data, {
    apiVersion: 'v1alpha1',
    kind: 'NetworkRuleConfig',
    name: 'allow-k8s',
    portSelector: { ports: [50000, 50001], protocol: 'tcp' },
    ingress: [{ subnet: '192.168.0.0/16' }],
  });
  t.strictSame(docs[2]!.data, { apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname: 'node-1' });
  t.strictSame(docs[3]!.identity, { type: 'typed', apiVersion: 'v1alpha1', kind: 'NetworkRuleConfig', name: 'other' });
});

t.test('a main-document patch on a config without one is appended', async (t) => {
  const docs = patch(
    parseConfig('apiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n'),
    'machine: {type: worker}\n',
  );
  t.strictSame(
    docs.map((d) => d.identity.type),
    ['typed', 'main'],
  );
});

t.test('inputs are never mutated', async (t) => {
  const base = parseConfig(BASE);
  const before = serializeConfig(base);
  const parsed = parseStrategicPatch('machine:\n  certSANs: [b]\n  nodeLabels:\n    rack: {$patch: delete}\n');
  applyStrategicPatch(base, parsed);
  applyStrategicPatch(base, parsed);
  t.equal(serializeConfig(base), before);
});

t.test('$patch: delete', async (t) => {
  const base = parseConfig(BASE);
  const docs = patch(
    base,
    `apiVersion: v1alpha1
kind: HostnameConfig
$patch: delete
---
machine:
  install:
    disk: {$patch: delete}
    image: {$patch: delete}
`,
  );
  t.equal(docs.length, 2, 'whole typed document removed');
  t.strictSame(main(docs).machine.install, { wipe: true }, 'key removed; an absent key is a no-op');

  const emptied = patch(
    base,
    'cluster:\n  apiServer:\n    admissionControl:\n      - name: PodSecurity\n        $patch: delete\n',
  );
  t.strictSame(main(emptied).cluster.apiServer.admissionControl, [], 'the list stays, empty, as in Talos');

  const onlyDeletes = parseStrategicPatch('version: v1alpha1\nmachine:\n  nodeLabels:\n    rack: {$patch: delete}\n');
  t.strictSame(
    onlyDeletes.steps.map((s) => s.type),
    ['delete'],
    'a document holding only deletes merges nothing',
  );
});

t.test('$patch: delete errors', async (t) => {
  const base = parseConfig(BASE);
  const cases: Array<[string, RegExp]> = [
    [
      'machine:\n  nodeLabels: {$patch: replace}\n',
      /document 1 \(line 1\): machine\.nodeLabels\.\$patch: unsupported directive "replace"/,
    ],
    [
      'machine:\n  network:\n    interfaces:\n      - interface: eth0\n        vip: {$patch: delete}\n',
      /cannot delete a key inside a list element/,
    ],
    [
      'machine:\n  network:\n    interfaces:\n      - interface: eth0\n        vlans:\n          - vlanId: 1\n            $patch: delete\n',
      /nested in another list is not supported/,
    ],
    ['machine:\n  certSANs:\n    - $patch: delete\n', /needs a key: value to select it/],
    ['machine:\n  certSANs:\n    - a: {b: c}\n      $patch: delete\n', /must be a scalar/],
    ['version: v1alpha1\n$patch: delete\n', /main v1alpha1 document cannot be deleted/],
    ['kind: HostnameConfig\nauto: {$patch: delete}\n', /has no apiVersion/],
  ];
  for (const [text, message] of cases)
    t.throws(() => parseStrategicPatch(text), { constructor: ConfigError, message }, text);

  const applyCases: Array<[string, RegExp]> = [
    [
      'apiVersion: v1alpha1\nkind: KmsgLogConfig\nname: x\n$patch: delete\n',
      /document KmsgLogConfig "x": no such document/,
    ],
    ['machine:\n  kubelet:\n    extraArgs:\n      foo: {$patch: delete}\n', /machine\.kubelet is missing/],
    ['machine:\n  type:\n    x: {$patch: delete}\n', /lookup failed: machine\.type is not a map/],
    ['machine:\n  nodeLabels:\n    - name: x\n      $patch: delete\n', /machine\.nodeLabels is not a list/],
    [
      'machine:\n  certSANs:\n    - name: x\n      $patch: delete\n',
      /path 'machine\.certSANs\[name=x\]'.*no element with name: x/,
    ],
  ];
  for (const [text, message] of applyCases)
    t.throws(() => patch(base, text), { constructor: ConfigError, message }, text);
});

t.test('merge errors name the path', async (t) => {
  t.throws(() => patch(parseConfig(BASE), 'machine:\n  certSANs: {a: b}\n'), {
    constructor: ConfigError,
    message: 'cannot merge a map into a list at machine.certSANs',
  });
  t.throws(() => patch(parseConfig(BASE), 'machine:\n  install: yes-please\n'), {
    message: /a string into a map at machine\.install/,
  });
});

t.test('patch parsing', async (t) => {
  t.throws(() => parseStrategicPatch(''), { message: 'patch has no documents' });
  t.throws(
    () => parseStrategicPatch('version: v1alpha1\n'),
    { message: 'patch has no documents' },
    'identity-only documents are dropped',
  );
  t.throws(() => parseStrategicPatch('machine: {}\n---\n- a\n'), { message: /document 2 .*expected a map/ });
  t.throws(() => parseStrategicPatch('machine: {}\n---\nmachine: {}\n'), { message: /duplicate document v1alpha1/ });
  t.equal(parseStrategicPatch('---\nmachine: {type: worker}\n').steps.length, 1);
});
