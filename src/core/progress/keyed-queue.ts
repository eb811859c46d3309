/**
 * One queue per key (a peer address): the ProgressTracker applies the reports from one address one
 * at a time, in the order they arrived. Generic, so apart from the tracker.
 */
export class KeyedQueue {
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Run `fn` after everything queued for `key`; failures stay with their caller. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return next;
  }
}
