import type { MachineProgress } from '../types.js';

/**
 * What the Talos listeners need to remember. Talos replays its event buffer (up to 1000 events) on
 * its first connection and resumes after the last acknowledged one on a reconnect, so every event
 * id a machine sent is remembered (bounded per machine) to make ingestion idempotent.
 */
export interface TalosEventRepo {
  /** Remember an event id for a machine; false when it was seen before. Keeps the newest `keep` ids per machine. */
  markSeen(mac: string, eventId: string, keep?: number): Promise<boolean>;
  /** Undo markSeen (the event could not be processed and Talos will send it again). */
  forget(mac: string, eventId: string): Promise<void>;
  /** Keep an event nobody could be found for; false when this peer already sent that id. */
  recordUnattributed(e: Omit<UnattributedEvent, 'id' | 'claimedBy'>): Promise<boolean>;
  /** Oldest first. */
  listUnattributed(opts?: {
    peerIp?: string;
    unclaimedOnly?: boolean;
    afterId?: number;
    limit?: number;
  }): Promise<UnattributedEvent[]>;
  /** Mark events as attributed after the fact (the peer later identified itself). */
  claimUnattributed(ids: number[], mac: string): Promise<void>;
  countUnattributed(opts?: { unclaimedOnly?: boolean }): Promise<number>;
}

/** A Talos event from an address no machine is known by. */
export interface UnattributedEvent {
  id: number;
  at: string;
  peerIp: string;
  eventId: string;
  /** `machine.SequenceEvent`, … (the type_url without its prefix). */
  type: string;
  /** The decoded event, as the ingestion received it. */
  payload: Record<string, unknown>;
  claimedBy: string | null;
}

export interface ProgressRepo {
  get(mac: string): Promise<MachineProgress | undefined>;
  put(progress: MachineProgress): Promise<void>;
}
