import t from 'tap';
import { clusterBody, makeApp, TALOS_VERSION } from '../helpers/core-app.js';

t.test(
  'cluster create and update warn with the exact pull command when the Talos version has no boot files',
  async (t) => {
    const { api } = await makeApp(t); // v1.13.9 amd64 kernel and initramfs are in its assets dir
    const pulled = await api('POST', '/api/v1/clusters', clusterBody('prod'));
    t.equal(pulled.status, 201, pulled.body);
    t.notOk(
      pulled.json.warnings.some((w: string) => /assets pull/.test(w)),
      'no pull warning when the files are there',
    );

    const other = await api('POST', '/api/v1/clusters', clusterBody('next', { talosVersion: 'v1.13.8' }));
    t.equal(other.status, 201, 'a warning, not a refusal: the files may be pulled later');
    t.ok(
      other.json.warnings.some(
        (w: string) =>
          w.includes('vmlinuz-amd64, initramfs-amd64.xz missing') &&
          w.includes('`metalboot assets pull talos --version v1.13.8`'),
      ),
      other.json.warnings.join('\n'),
    );

    const arm = await api('PUT', '/api/v1/clusters/prod', { ...clusterBody('prod'), arch: 'arm64' });
    t.equal(arm.status, 200, arm.body);
    t.ok(
      arm.json.warnings.some((w: string) =>
        w.includes(`\`metalboot assets pull talos --version ${TALOS_VERSION} --arch arm64\``),
      ),
      'the update answers the same, with the arch it needs',
    );
  },
);
