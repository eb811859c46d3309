import type { DhcpCore, DhcpMachineInfo, DhcpObservation } from './dhcp-port.js';
import type { Store } from '../ports/types.js';
import { DhcpSightings } from '../binding/config-binding.js';
import type { MachineService } from '../registry/machines.js';
import type { Timeline } from '../timeline/timeline.js';

/**
 * The core's side of the first two hops of a network boot. DHCP knows the MAC; TFTP only the
 * client's address, which DHCP (or an earlier HTTP request) tied to a machine.
 */
export class DhcpTftpObserver implements DhcpCore {
  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly machines: MachineService,
    private readonly onError: (err: unknown, what: string) => void = () => {},
    private readonly sightings = new DhcpSightings(),
  ) {}

  async lookup(mac: string, uuid?: string): Promise<DhcpMachineInfo | undefined> {
    // A registered machine booting from another NIC is found by its SMBIOS UUID.
    const m = await this.machines.forBoot(mac, uuid);
    if (!m || m.state === 'discovered') return { known: false };
    return { known: true, reservedIp: m.ip ?? undefined, bootFileOverride: m.bootFile ?? undefined };
  }

  flushed(): Promise<void> {
    return this.store.flushed();
  }

  async isReserved(ip: string): Promise<boolean> {
    return (await this.store.machines.reservationOwner(ip)) !== undefined;
  }

  async record(o: DhcpObservation): Promise<void> {
    const used = usedAddress(o);
    if (used) this.sightings.note(o.mac, used, this.timeline.clockMs());
    const m = await this.machines.forBoot(o.mac, o.uuid);
    const isPxe = /^(PXEClient|HTTPClient)/.test(o.vendorClass ?? '');
    if (!m) {
      // Only network-boot clients become "discovered": laptops and phones asking an
      // authoritative server for an address are not machines to provision.
      // The rate per source: a broadcast's IP source is 0.0.0.0 (and option 50 is the client's
      // word), so the local segment counts as one source and each relay as one.
      if (isPxe && o.reply)
        await this.machines.discover(
          o.mac,
          { ip: o.offeredIp ?? o.clientIp, arch: o.arch, firmware: o.firmware, uuid: o.uuid },
          o.relay ? `relay ${o.relay}` : 'dhcp local segment',
        );
      return;
    }
    // Authoritative: the address we ACKed. Proxy: the address the client accepted from the real
    // DHCP server (its REQUEST names it), which later TFTP and /boot.ipxe requests come from.
    const ip =
      o.reply === 'ACK'
        ? (o.offeredIp ?? o.clientIp)
        : o.mode === 'proxy' && o.messageType === 'REQUEST'
          ? o.clientIp
          : undefined;
    if (ip || o.arch || o.firmware)
      await this.machines.noteSeen(m, { ip, arch: o.arch, firmware: o.firmware, uuid: o.uuid });
    const detail = Object.fromEntries(
      Object.entries({
        message: o.messageType,
        reply: o.reply ?? 'none',
        nic: m.mac !== o.mac ? o.mac : undefined,
        mode: o.mode,
        arch: o.arch,
        firmware: o.firmware,
        ip: o.offeredIp,
        relay: o.relay,
        bootFile: o.bootFile,
        note: o.note,
      }).filter(([, v]) => v !== undefined),
    );
    await this.timeline.record(m, `dhcp-${o.messageType.toLowerCase()}`, detail, {
      sourceIp: o.relay ?? o.clientIp ?? null,
      // Only firmware and iPXE (vendor class PXEClient/HTTPClient) mean "network boot started":
      // the installed OS renewing its lease later must not move `installing` back to `dhcp`.
      signal: isPxe && (o.reply === 'OFFER' || o.reply === 'ACK') ? 'dhcp' : undefined,
    });
  }

  /**
   * A TFTP transfer (of an iPXE binary) on the timeline of the machine at that address; the TFTP
   * adapter's observer (tftp/timeline-observer.ts) calls this. Never throws: a failed record is
   * reported to onError, the transfer goes on.
   */
  recordTransfer(ip: string, kind: TransferKind, detail: Record<string, unknown>): void {
    void (async () => {
      const m = await this.store.machines.findByIp(ip);
      // A completed download of iPXE is the `tftp` step of the boot.
      if (m)
        await this.timeline.record(m, kind, detail, {
          sourceIp: ip,
          signal: kind === 'tftp-completed' ? 'tftp' : undefined,
        });
    })().catch((err) => this.onError(err, kind));
  }
}

export type TransferKind = 'tftp-started' | 'tftp-completed' | 'tftp-failed';

/**
 * The address a DHCP exchange says this MAC uses, for the config binding: the one we ACKed
 * (authoritative, relayed or not), or in proxy mode the one the client REQUESTs from the real
 * server (option 50, or ciaddr when renewing or asking on port 4011).
 */
export function usedAddress(o: DhcpObservation): string | undefined {
  if (o.reply === 'ACK' && o.mode === 'authoritative') return o.offeredIp;
  if (o.mode === 'proxy' && o.messageType === 'REQUEST') return o.clientIp;
  return undefined;
}
