import type { Actor } from '../registry/clusters.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Store } from '../ports/types.js';
import type { Timeline } from '../timeline/timeline.js';
import type { PowerAction } from './power-driver.js';
import type { PowerService } from './power-service.js';

export interface PowerSelector {
  cluster?: string;
  label?: { key: string; value: string };
}

export interface PowerBatchItem {
  mac: string;
  status: 'pending' | 'done' | 'failed';
  driver?: string;
  error?: string;
  at?: string;
}

export interface PowerBatch {
  id: number;
  action: PowerAction;
  selector: PowerSelector;
  staggerMs: number;
  createdAt: string;
  finishedAt: string | null;
  items: PowerBatchItem[];
}

/** Bounds: a batch is a rack or a row, not a data centre; a few at once; the last few remembered. */
export const POWER_BATCH_LIMITS = { machines: 1000, staggerMs: 600_000, running: 4, kept: 20 };

/**
 * Powers a selection of machines one after another, `staggerMs` apart, so a rack does not hit the
 * boot server and the power circuit in the same second. Runs in the background (the API answers
 * with the plan at once); each machine's result is on its timeline and in the batch's view.
 * Batches live in memory: a restart ends a batch half-way, and the timelines say how far it got.
 */
export class PowerBatches {
  private readonly batches = new Map<number, PowerBatch>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly timeline: Timeline,
    private readonly power: PowerService,
  ) {}

  async start(selector: PowerSelector, action: PowerAction, staggerMs: number, actor: Actor): Promise<PowerBatch> {
    if (!selector.cluster && !selector.label)
      throw new ValidationError('select machines by cluster or label (a batch never means "everything")', 'selector');
    if (!Number.isInteger(staggerMs) || staggerMs < 0 || staggerMs > POWER_BATCH_LIMITS.staggerMs)
      throw new ValidationError(`stagger must be 0–${POWER_BATCH_LIMITS.staggerMs} ms`, 'staggerMs');
    const running = [...this.batches.values()].filter((b) => !b.finishedAt).length;
    if (running >= POWER_BATCH_LIMITS.running)
      throw new ConflictError(`${running} power batches are running; wait for one to finish`);
    const machines = await this.store.machines.list({ ...selector, registered: true });
    if (machines.length === 0) throw new NotFoundError('no registered machine matches the selection');
    if (machines.length > POWER_BATCH_LIMITS.machines)
      throw new ValidationError(
        `${machines.length} machines match; a batch powers at most ${POWER_BATCH_LIMITS.machines}`,
        'selector',
      );
    const batch: PowerBatch = {
      id: this.nextId++,
      action,
      selector,
      staggerMs,
      createdAt: this.timeline.now(),
      finishedAt: null,
      items: machines.map((m) => ({ mac: m.mac, status: 'pending' })),
    };
    this.batches.set(batch.id, batch);
    this.forgetOld();
    await this.timeline.audit({
      ...actor,
      action: `power-batch.${action}`,
      target: selector.cluster
        ? `cluster ${selector.cluster}`
        : `label ${selector.label!.key}=${selector.label!.value}`,
      detail: { batch: batch.id, machines: machines.length, staggerMs },
    });
    void this.run(batch, actor);
    return batch;
  }

  get(id: number): PowerBatch {
    const batch = this.batches.get(id);
    if (!batch)
      throw new NotFoundError(`no power batch ${id} (batches are kept in memory, the last ${POWER_BATCH_LIMITS.kept})`);
    return batch;
  }

  /** Stop waiting between machines (shutdown); what was not done stays `pending`. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async run(batch: PowerBatch, actor: Actor): Promise<void> {
    for (const [i, item] of batch.items.entries()) {
      if (this.closed) return;
      if (i > 0 && batch.staggerMs > 0) await this.sleep(batch.staggerMs);
      if (this.closed) return;
      try {
        const r = await this.power.act(item.mac, batch.action, actor);
        Object.assign(item, { status: 'done', driver: r.driver });
      } catch (err) {
        Object.assign(item, { status: 'failed', error: (err as Error).message });
      }
      item.at = this.timeline.now();
    }
    batch.finishedAt = this.timeline.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      t.unref?.();
      this.timers.add(t);
    });
  }

  private forgetOld(): void {
    for (const [id, b] of this.batches) {
      if (this.batches.size <= POWER_BATCH_LIMITS.kept) break;
      if (b.finishedAt) this.batches.delete(id);
    }
  }
}
