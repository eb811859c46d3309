import type { AllocateRequest, AllocatedLease, CommitRequest, Lease, LeaseRepo } from '../ports/leases.js';

/**
 * DHCP's leases, through the core: the DHCP adapter reaches them here (`core.leases`), never in
 * the store. Each operation is one atomic store call, because several metalboot instances may
 * share one lease table; the allocation rules are the port's (`store/leases.ts`).
 */
export class LeaseService implements LeaseRepo {
  constructor(private readonly repo: LeaseRepo) {}

  allocate(req: AllocateRequest): Promise<AllocatedLease | undefined> {
    return this.repo.allocate(req);
  }

  commit(req: CommitRequest): Promise<Lease | undefined> {
    return this.repo.commit(req);
  }

  cancelOffers(mac: string, now: number): Promise<number> {
    return this.repo.cancelOffers(mac, now);
  }

  release(mac: string, ip: string, now: number): Promise<boolean> {
    return this.repo.release(mac, ip, now);
  }

  decline(mac: string, ip: string, now: number, quarantineUntil: number): Promise<boolean> {
    return this.repo.decline(mac, ip, now, quarantineUntil);
  }

  get(ip: string): Promise<Lease | undefined> {
    return this.repo.get(ip);
  }

  listByMac(mac: string): Promise<Lease[]> {
    return this.repo.listByMac(mac);
  }

  list(): Promise<Lease[]> {
    return this.repo.list();
  }
}
