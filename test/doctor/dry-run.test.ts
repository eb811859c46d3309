import t from 'tap';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION, fakeEfi, fakeInitramfs, fakeKernel } from '../helpers/asset-mirror.js';
import { runCli, serve, talosctlOutput } from '../helpers/cli-run.js';
import { freePort } from '../helpers/spawn-server.js';

const MAC = '52:54:00:12:34:56';

t.test('doctor --mac: every hop of a boot, exactly, without recording anything', async (t) => {
  // TFTP on: the server's preview answers with the server's own TFTP and DHCP settings.
  const s = await serve(t, {
    args: ['--advertise-url', 'http://10.0.0.5:8080', '--tftp-listen', `127.0.0.1:${await freePort()}`],
  });
  const talos = join(s.assetsDir, 'talos', VERSION);
  mkdirSync(talos, { recursive: true });
  writeFileSync(join(talos, 'vmlinuz-amd64'), fakeKernel(4096));
  writeFileSync(join(talos, 'initramfs-amd64.xz'), fakeInitramfs(8192));
  mkdirSync(join(s.assetsDir, 'ipxe'), { recursive: true });
  for (const f of ['undionly.kpxe', 'ipxe.efi']) writeFileSync(join(s.assetsDir, 'ipxe', f), fakeEfi(1024));
  const gen = talosctlOutput(join(s.dir, 'gen'));
  writeFileSync(join(s.dir, 'disk.yaml'), 'machine:\n  install:\n    wipe: true\n');
  t.equal(
    (
      await runCli(
        ['cluster', 'create', 'prod', '--from', gen, '--talos-version', VERSION, '--kernel-arg', 'net.ifnames=0'],
        s.env,
      )
    ).code,
    0,
  );
  t.equal(
    (
      await runCli(
        [
          'machine',
          'add',
          MAC,
          '--hostname',
          'worker-1',
          '--role',
          'worker',
          '--cluster',
          'prod',
          '--install-disk',
          '/dev/nvme0n1',
          '--patch',
          `@${join(s.dir, 'disk.yaml')}`,
        ],
        s.env,
      )
    ).code,
    0,
  );
  const settings = ['--advertise-url', 'http://10.0.0.5:8080', '--assets-dir', s.assetsDir];
  const doctor = (...args: string[]) => runCli(['doctor', ...settings, ...args], s.env);
  const events = async () => JSON.parse((await runCli(['machine', 'events', MAC, '-o', 'json'], s.env)).stdout).length;
  const before = await events();

  const r = await doctor('--mac', '52-54-00-12-34-56', '--arch', '7');
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(
    r.stdout,
    /^dry run: worker-1 \(52:54:00:12:34:56, registered, worker of prod\) booting as x86-64 UEFI \(arch 7\) — nothing was recorded or changed/,
  );
  t.notMatch(r.stdout, /computed by this CLI/, 'the server computed it (GET /api/v1/machines/:mac/preview)');
  t.match(
    r.stdout,
    /1\. DHCP \(firmware\)\n\s+asks: +DHCPDISCOVER, option 93 = 7 \(x86-64 UEFI\), vendor class PXEClient:Arch:00007:UNDI:003016\n\s+answer: +metalboot does not answer DHCP \(--dhcp off\): your DHCP server must offer boot file ipxe\.efi \(TFTP from this host\)/,
  );
  t.match(
    r.stdout,
    /2\. TFTP \(firmware loads iPXE\)\n\s+asks: +TFTP read ipxe\.efi\n\s+answer: +assets\/ipxe\/ipxe\.efi \(1024 bytes\)/,
  );
  t.match(r.stdout, /3\. DHCP \(iPXE\)\n.*\n\s+answer: .*boot file http:\/\/10\.0\.0\.5:8080\/boot\.ipxe/);
  t.match(
    r.stdout,
    /5\. machine script\n\s+asks: +GET http:\/\/10\.0\.0\.5:8080\/ipxe\?mac=52:54:00:12:34:56&arch=x86_64&platform=efi\n\s+answer: +install script: Talos v1\.13\.9 amd64, worker of prod/,
  );
  t.match(
    r.stdout,
    /│ kernel http:\/\/10\.0\.0\.5:8080\/assets\/talos\/v1\.13\.9\/vmlinuz-amd64 initrd=initramfs-amd64\.xz talos\.platform=metal/,
  );
  // The server's own kernel-argument providers (the Talos event sink and kernel log) are included.
  t.match(
    r.stdout,
    /6\. kernel\n.*\n\s+answer: +vmlinuz-amd64 \(4096 bytes\)\n\s+cmdline: talos\.platform=metal console=tty0 .* net\.ifnames=0 talos\.events\.sink=10\.0\.0\.5:\d+ talos\.logging\.kernel=tcp:\/\/10\.0\.0\.5:\d+\/ talos\.config=http:\/\/10\.0\.0\.5:8080\/config\/52:54:00:12:34:56\?token=<issued-per-boot>\n/,
  );
  t.match(
    r.stdout,
    /8\. machine config\n.*only from the address that fetched the script.*\n\s+answer: +worker-1's machine config: \d+ bytes, 4 document\(s\), valid/,
  );
  t.match(
    r.stdout,
    /config: +worker config of prod \+ 0 cluster patch\(es\) \+ 1 machine patch\(es\); documents: v1alpha1 \(machine\.type worker\), HostnameConfig, EventSinkConfig, KmsgLogConfig; sha256 [0-9a-f]{16}…/,
  );
  t.match(r.stdout, /outcome: Talos installs/);
  t.notMatch(r.stdout, /BEGIN|ca:|crt:/, 'no secrets unless asked');
  t.equal(await events(), before, 'no event recorded');
  t.match(
    JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], s.env)).stdout),
    { state: 'registered', lastSeen: {} },
    'state untouched',
  );

  const yaml = await doctor('--mac', MAC, '--ipxe', '--show-config', '--scripts');
  t.equal(yaml.code, 0, yaml.stderr);
  t.match(yaml.stdout, /already running iPXE/);
  t.match(yaml.stdout, /1\. DHCP \(iPXE\)/);
  t.match(
    yaml.stdout,
    /│ chain --autofree http:\/\/10\.0\.0\.5:8080\/ipxe\?mac=\$\{netX\/mac\}/,
    '--scripts shows the generic script too',
  );
  t.match(yaml.stdout, /│\s+disk: \/dev\/nvme0n1/, 'the rendered config with --show-config');
  t.match(yaml.stdout, /│\s+hostname: worker-1/);

  const json = JSON.parse((await doctor('--mac', MAC, '--arch', 'bios', '-o', 'json')).stdout);
  t.match(json, {
    mac: MAC,
    archCode: 0,
    archName: 'x86 BIOS',
    computedBy: 'server',
    outcome: 'install',
    machine: { state: 'registered', cluster: 'prod' },
  });
  t.same(
    json.hops.map((h: { step: string }) => h.step),
    ['dhcp', 'tftp', 'dhcp-ipxe', 'boot-script', 'machine-script', 'kernel', 'initramfs', 'config'],
  );
  t.match(json.hops[0].data, { kind: 'tftp', bootFile: 'undionly.kpxe', firmware: 'pcbios' });
  t.match(json.hops[4].request, /arch=i386&platform=pcbios/);

  const http = await doctor('--mac', MAC, '--arch', '16');
  t.match(
    http.stdout,
    /UEFI HTTP boot \(firmware loads iPXE\)\n\s+asks: +HTTP GET http:\/\/10\.0\.0\.5:8080\/(assets\/)?ipxe\/ipxe\.efi\n\s+answer: +assets\/ipxe\/ipxe\.efi/,
  );

  const arm = await doctor('--mac', MAC, '--arch', '11');
  t.equal(arm.code, 7, 'a broken hop fails the dry run');
  t.match(
    arm.stdout,
    /problem: assets\/ipxe\/ipxe-arm64\.efi is missing: Debian.s ipxe package has no arm64 build; .*metalboot assets pull ipxe --from <dir>/,
  );
  t.match(arm.stdout, /outcome: the boot breaks at step 2 \(TFTP \(firmware loads iPXE\)\)/);

  // The server's settings count, not doctor's: its TFTP runs, whatever doctor is told.
  const localTftpOff = await doctor('--mac', MAC, '--tftp-listen', 'off');
  t.equal(localTftpOff.code, 0, localTftpOff.stdout);
  t.match(localTftpOff.stdout, /answer: +assets\/ipxe\/ipxe\.efi \(1024 bytes\)/);

  rmSync(join(talos, 'initramfs-amd64.xz'));
  const noInitrd = await doctor('--mac', MAC, '--ipxe');
  t.equal(noInitrd.code, 7);
  t.match(
    noInitrd.stdout,
    /initramfs {2}✗\n.*\n\s+answer: +404\n\s+problem: assets\/talos\/v1\.13\.9\/initramfs-amd64\.xz is missing: metalboot assets pull talos --version v1\.13\.9 --arch amd64/,
  );

  t.equal((await runCli(['machine', 'edit', MAC, '--installed', '--local-boot', 'sanboot'], s.env)).code, 0);
  const installed = await doctor('--mac', MAC, '--ipxe');
  t.equal(installed.code, 0);
  t.match(
    installed.stdout,
    /answer: +boot from the local disk \(sanboot --drive 0x80\): Talos is installed; `metalboot machine reimage` to install again\n\s+│ #!ipxe/,
  );
  t.match(installed.stdout, /outcome: the machine boots Talos from its disk/);
  t.equal(await events(), before + 1, 'only the edit was recorded');

  writeFileSync(join(talos, 'initramfs-amd64.xz'), fakeInitramfs(8192));
  t.equal((await runCli(['machine', 'reimage', MAC], s.env)).code, 0);
  const wipe = await doctor('--mac', MAC, '--ipxe', '-o', 'json');
  t.equal(wipe.code, 0, wipe.stderr);
  const preview = JSON.parse(wipe.stdout);
  t.equal(preview.outcome, 'wipe');
  t.same(
    preview.hops.map((h: { step: string }) => h.step),
    ['dhcp-ipxe', 'boot-script', 'machine-script', 'kernel', 'initramfs'],
    'no config on the wipe boot',
  );
  t.match(preview.hops[2].answer, /wipe script \(reimage, first boot\)/);
  t.equal(preview.hops[3].data.cmdline.at(-1), 'talos.experimental.wipe=system');
  t.notOk(preview.hops[3].data.cmdline.some((a: string) => a.startsWith('talos.config=')));
  t.equal(
    JSON.parse((await runCli(['machine', 'show', MAC, '-o', 'json'], s.env)).stdout).state,
    'reimage-requested',
    'still waiting for its wipe boot',
  );
});

t.test('doctor --mac for a machine metalboot does not know, and bad input', async (t) => {
  const s = await serve(t);
  const r = await runCli(['doctor', '--mac', '52:54:00:de:ad:01', '--ipxe'], s.env);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /computed by this CLI/);
  t.match(r.stdout, /52:54:00:de:ad:01 \(unknown to metalboot\)/);
  t.match(
    r.stdout,
    /answer: +discovery script: recorded as discovered, asks again in 30 s; nothing is installed until you `metalboot machine add 52:54:00:de:ad:01 …`/,
  );
  t.match(r.stdout, /outcome: the machine waits to be registered/);
  t.same(
    JSON.parse((await runCli(['machine', 'list', '-o', 'json'], s.env)).stdout),
    [],
    'the dry run did not discover it',
  );
  // This server runs without TFTP: firmware PXE gets no offer from its preview.
  const noTftp = await runCli(['doctor', '--mac', '52:54:00:de:ad:01', '--arch', '7'], s.env);
  t.equal(noTftp.code, 7);
  t.match(noTftp.stdout, /answer: +no boot offer\n\s+problem: client needs TFTP, which is disabled/);

  const badMac = await runCli(['doctor', '--mac', 'nope'], s.env);
  t.equal(badMac.code, 1);
  t.match(badMac.stderr, /--mac "nope" is not a MAC address/);
  const badArch = await runCli(['doctor', '--mac', '52:54:00:de:ad:01', '--arch', 'sparc'], s.env);
  t.equal(badArch.code, 1);
  t.match(badArch.stderr, /hint: use 0 \(BIOS\), 7 \(x86-64 UEFI\)/);
  const down = await runCli([
    'doctor',
    '--mac',
    '52:54:00:de:ad:01',
    '--server',
    'http://127.0.0.1:1',
    '--token',
    'x'.repeat(20),
  ]);
  t.equal(down.code, 4, "the dry run needs the server's records");
});
