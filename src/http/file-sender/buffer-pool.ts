/** Fixed-size buffers leased to responses and reused: why, see ../file-sender.ts. */

/** Fixed-size buffers shared by all responses, never more than `max` of them at once. */
export class BufferPool {
  private readonly idle: Buffer[] = [];
  private created = 0;
  constructor(
    readonly size: number,
    readonly max: number,
  ) {}

  /** A buffer, or undefined when `max` are out. allocUnsafeSlow: its own memory, not the shared slab. */
  take(): Buffer | undefined {
    const buf = this.idle.pop();
    if (buf || this.created >= this.max) return buf;
    this.created++;
    return Buffer.allocUnsafeSlow(this.size);
  }

  give(buf: Buffer): void {
    this.idle.push(buf);
  }

  /** Forget a buffer that a dead socket's write queue may still hold: never hand it out again. */
  retire(): void {
    this.created--;
  }

  get stats(): { created: number; idle: number } {
    return { created: this.created, idle: this.idle.length };
  }
}

/** 128 x 256 KiB: 64 concurrent bulk transfers at full speed, at most 32 MiB however many there are. */
export const sharedPool = new BufferPool(256 * 1024, 128);
/** Per-response buffers (still reused within the response) once the pool is out, and the cut-off below which one exact-size buffer does. */
const FALLBACK_SIZE = 64 * 1024;

/** Two buffers from the pool, else two per-response ones; one exact-size buffer for a short body (one read, one write). */
export function lease(pool: BufferPool, length: number): { bufs: Buffer[]; pooled: boolean } {
  if (length <= FALLBACK_SIZE) return { bufs: [Buffer.allocUnsafe(length)], pooled: false };
  const a = pool.take();
  const b = a && pool.take();
  if (a && b) return { bufs: [a, b], pooled: true };
  if (a) pool.give(a);
  return { bufs: [Buffer.allocUnsafeSlow(FALLBACK_SIZE), Buffer.allocUnsafeSlow(FALLBACK_SIZE)], pooled: false };
}
