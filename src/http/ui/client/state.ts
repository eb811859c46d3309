/** What the page holds between renders, shared by the tables, the detail pane and the app. */
import type { Cluster, Machine, MachineEvent } from './types.js';

/** Rows per page of each table; "Show more" adds a page. */
export const PAGE = 200;

export interface ListState {
  /** The API query selecting this table's machines. */
  query: string;
  /** How many the table shows (grows with "Show more"). */
  shown: number;
  /** The cursor past what is shown (null: the table shows everything). */
  next: string | null;
}

export const state = {
  /** mac → machine JSON from /api/v1/machines (the pages shown). */
  machines: new Map<string, Machine>(),
  /** mac → newest timeline event we know of. */
  lastEvents: new Map<string, MachineEvent>(),
  clusters: [] as Cluster[],
  /** The mac shown in the detail pane. */
  selected: null as string | null,
};

// The registry may hold tens of thousands of machines: each table shows pages of the API's list
// (registered ones, discovered ones) and "Show more" adds a page; a refresh reloads what is shown.
export const lists: { managed: ListState; discovered: ListState } = {
  managed: { query: 'registered=true', shown: PAGE, next: null },
  discovered: { query: 'state=discovered', shown: PAGE, next: null },
};

export function noteLastEvent(mac: string, e: MachineEvent): void {
  const prev = state.lastEvents.get(mac);
  if (!prev || prev.id <= e.id) state.lastEvents.set(mac, e);
}
