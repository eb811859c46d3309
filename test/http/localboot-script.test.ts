import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

// The way back to the firmware for an installed machine: its script `exit`s (success, so the
// generic script's `chain` goes on), then the generic script leaves iPXE — on UEFI with an error
// status: with success, EDK2-based firmware (OVMF, most vendors') stops processing BootOrder and
// shows its boot manager menu instead of booting the disk (seen in the e2e's UEFI second boot).
t.test(
  'installed machine: its script exits; the generic script leaves with exit 1 on UEFI, exit on BIOS; sanboot on request',
  async (t) => {
    const { api, get } = await makeApp(t);
    t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
    const mac = '52:54:00:10:0b:01';
    t.equal(
      (await api('POST', '/api/v1/machines', { mac, hostname: 'w1', role: 'worker', cluster: 'prod', installed: true }))
        .status,
      201,
    );
    const boot = (await get('/boot.ipxe', '10.9.0.21')).body;
    const afterChain = boot.slice(boot.indexOf('chain '), boot.indexOf(':failed'));
    t.match(
      afterChain,
      /^iseq \$\{platform\} efi && exit 1 \|\|\nexit$/m,
      'after the machine script returns: exit 1 on UEFI, decided by iPXE at run time; else exit',
    );
    const script = (await get(`/ipxe?mac=${mac}&arch=x86_64&platform=efi`, '10.9.0.21')).body;
    t.match(script, /^exit$/m, 'the machine script returns with success, so chain does not take the retry path');
    t.notMatch(script, /exit 1|sanboot/);
    t.equal((await api('PATCH', `/api/v1/machines/${mac}`, { localBoot: 'sanboot' })).status, 200);
    const sanboot = (await get(`/ipxe?mac=${mac}&arch=x86_64&platform=pcbios`, '10.9.0.21')).body;
    t.match(sanboot, 'sanboot --no-describe --drive 0x80');
    t.notMatch(sanboot, /^exit/m);
  },
);
