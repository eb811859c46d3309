import t from 'tap';
import { clusterBody, makeApp } from '../helpers/core-app.js';

// The boot-from-disk script an installed machine gets. On UEFI it must leave iPXE with an error
// status: with success, EDK2-based firmware (OVMF, most vendors') stops processing BootOrder and
// shows its boot manager menu instead of booting the disk (seen in the e2e's UEFI second boot).
t.test('installed machine: exit with an error status on UEFI, plain exit on BIOS; sanboot on request', async (t) => {
  const { api, get } = await makeApp(t);
  t.equal((await api('POST', '/api/v1/clusters', clusterBody())).status, 201);
  const mac = '52:54:00:10:0b:01';
  t.equal((await api('POST', '/api/v1/machines', { mac, hostname: 'w1', role: 'worker', cluster: 'prod', installed: true })).status, 201);
  const script = (await get(`/ipxe?mac=${mac}&arch=x86_64&platform=efi`, '10.9.0.21')).body;
  t.match(script, /^iseq \$\{platform\} efi && exit 1 \|\|$/m, 'UEFI: exit 1, decided by iPXE at run time');
  t.match(script, /^exit$/m, 'BIOS: exit');
  t.notMatch(script, /sanboot/);
  t.equal((await api('PATCH', `/api/v1/machines/${mac}`, { localBoot: 'sanboot' })).status, 200);
  const sanboot = (await get(`/ipxe?mac=${mac}&arch=x86_64&platform=pcbios`, '10.9.0.21')).body;
  t.match(sanboot, 'sanboot --no-describe --drive 0x80');
  t.notMatch(sanboot, /exit/);
});
