import type { MachineEvent } from '../types.js';

/**
 * The shared timeline as it grows, for a store that several instances write (PostgreSQL): every
 * event committed by any instance, this one included, so that a live stream sees one ordered
 * sequence. A store used by one process only (SQLite, the in-memory one) has none: the Timeline
 * then streams what it appends itself.
 */
export interface TimelineFeed {
  /** Start hearing the feed; the returned function stops it. */
  subscribe(listener: TimelineFeedListener): () => void;
}

export interface TimelineFeedListener {
  /**
   * A committed event, in id order, none skipped, each once (also across a lost and restored
   * connection to the database: the feed reads on from the last id it delivered).
   */
  appended(event: MachineEvent): void;
  /** An event's repeat count grew (`repeats`, `lastAt` as stored now). Best effort: no order, may be missed. */
  repeated(event: MachineEvent): void;
}
