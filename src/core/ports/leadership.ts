/**
 * Which instance runs the singletons (the stall detector, housekeeping): with several metalboot
 * instances on one database, exactly one at a time. The store adapter decides how (PostgreSQL: a
 * session advisory lock on a connection of its own, src/store/postgres/leader.ts); one process on
 * SQLite is always the leader.
 */
export interface Leadership {
  /** Whether this instance runs the singletons now. */
  isLeader(): boolean;
  /**
   * `cb(leader)` on every change, after `isLeader()` has moved; never for the value it has now.
   * Returns the unsubscribe. A callback must not throw (the leadership's loop is not the place).
   */
  onChange(cb: (leader: boolean) => void): () => void;
  /** Give leadership up (if held) and stop trying; isLeader() is false afterwards. */
  close(): Promise<void>;
}
