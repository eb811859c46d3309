/**
 * One command at a time per key (a BMC's address), with a minimum gap between the end of one command
 * and the start of the next: BMCs freeze under bursts (siderolabs/omni#785). Different keys run in
 * parallel. A failing task does not stop the ones queued behind it.
 */
export class KeyedPacer {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly minGapMs: number) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => this.gap(),
      () => this.gap(),
    );
    this.tails.set(key, tail);
    // Forget an idle key, so the map holds only BMCs with work queued.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a command running or queued (for tests and metrics). */
  get busy(): number {
    return this.tails.size;
  }

  private gap(): Promise<void> {
    return this.minGapMs > 0 ? new Promise((r) => setTimeout(r, this.minGapMs)) : Promise.resolve();
  }
}
