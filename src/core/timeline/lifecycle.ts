import type { Machine, MachineState } from '../types.js';

/**
 * What a machine did that the network saw. The adapters report signals; this module alone decides
 * what they mean for the machine's state, so DHCP, TFTP, HTTP and Talos events share one state
 * machine.
 */
export type BootSignal =
  | 'dhcp' // DHCP exchange
  | 'tftp' // iPXE binary fetched over TFTP
  | 'boot-script' // generic /boot.ipxe
  | 'install-script' // per-machine script that installs Talos
  | 'localboot-script' // per-machine script that boots the disk
  | 'discovery-script' // unknown machine told to wait
  | 'kernel' // kernel downloaded in full
  | 'initramfs' // initramfs downloaded in full
  | 'config'; // machine config delivered

const INSTALL_PATH_TARGET: Record<BootSignal, MachineState | null> = {
  dhcp: 'dhcp',
  tftp: 'pxe',
  'boot-script': 'pxe-booting',
  'install-script': 'pxe-booting',
  'localboot-script': 'booting-from-disk',
  'discovery-script': null,
  kernel: 'kernel-loaded',
  initramfs: 'kernel-loaded',
  config: 'config-delivered',
};

/** A machine whose next network boot should install Talos. */
export function inInstallWindow(m: Pick<Machine, 'state' | 'installed' | 'reimage'>): boolean {
  if (m.state === 'discovered') return false;
  return !m.installed || m.reimage !== null;
}

/**
 * The state a signal moves the machine to, or null to leave it alone.
 * - Discovered machines stay discovered until an operator registers them.
 * - In the install window every network-boot signal is truth: a machine that DHCPs again after
 *   loading its kernel really did reboot (the legacy undionly path DHCPs twice by design).
 * - Installed machines only move when they are told to boot their disk; their DHCP/TFTP/script
 *   traffic is on the timeline but does not demote `joined` to `dhcp` on every reboot.
 */
export function nextState(
  m: Pick<Machine, 'state' | 'installed' | 'reimage'>,
  signal: BootSignal,
): MachineState | null {
  if (m.state === 'discovered') return null;
  const target = INSTALL_PATH_TARGET[signal];
  if (target === null) return null;
  if (inInstallWindow(m)) {
    if (signal === 'localboot-script') return null; // cannot happen in the window; never lie
    // The wipe boot of a reimage downloads a kernel too; it is still the wipe.
    if (m.state === 'wiping' && (signal === 'kernel' || signal === 'initramfs')) return null;
    return target === m.state ? null : target;
  }
  if (signal === 'localboot-script' && m.state !== 'booting-from-disk') return 'booting-from-disk';
  return null;
}
