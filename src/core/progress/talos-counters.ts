/**
 * What the Talos listeners received and what became of it, counted (never thrown) by the
 * ProgressTracker and read by the metrics adapter; and the blank progress of a machine Talos has
 * not reported on yet. Plain data, apart from the tracker's logic.
 */
import type { MachineProgress } from '../types.js';

/** Counted, never thrown: what the listeners received and what became of it. */
export interface TalosCounters {
  eventsReceived: number;
  eventsRecorded: number; // attributed and applied (whether or not worth a timeline entry)
  eventsDuplicate: number; // replays of ids already applied
  eventsUnattributed: number; // from an address no machine is known by (kept in the store)
  eventsUnknownType: number; // a type_url metalboot does not decode
  eventsMalformed: number; // not an EventRequest, or its payload does not decode
  eventsOversized: number;
  eventsFailed: number; // could not be applied (store error); Talos sends them again
  kmsgConnections: number;
  kmsgLines: number;
  kmsgUnattributed: number;
  kmsgGarbage: number; // not a JSON kernel-log object
  kmsgOversized: number; // longer than the line limit
}

export type IngestResult = 'recorded' | 'duplicate' | 'unattributed' | 'ignored';

/** The progress of a machine Talos has not reported on. */
export const blankProgress = (mac: string, now: string): MachineProgress => ({
  mac,
  stage: null,
  ready: null,
  unmetConditions: [],
  failure: null,
  stalled: null,
  bootstrapWaitAt: null,
  lastTalosEventAt: null,
  updatedAt: now,
});

/** Every counter at zero. */
export const blankTalosCounters = (): TalosCounters => ({
  eventsReceived: 0,
  eventsRecorded: 0,
  eventsDuplicate: 0,
  eventsUnattributed: 0,
  eventsUnknownType: 0,
  eventsMalformed: 0,
  eventsOversized: 0,
  eventsFailed: 0,
  kmsgConnections: 0,
  kmsgLines: 0,
  kmsgUnattributed: 0,
  kmsgGarbage: 0,
  kmsgOversized: 0,
});
