// Wall time per SQL statement, for bench/core-path.ts (STATEMENTS=1): better-sqlite3's prepare
// and exec are wrapped before the store prepares anything, and time is only counted while `on`.
// Statements run synchronously on the one thread, so the sums are the store's share of the path.
import Database from 'better-sqlite3';

export class StatementTimer {
  on = false;
  private readonly costs = new Map<string, { n: number; ns: bigint }>();

  constructor() {
    const proto = Database.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const prepare = proto.prepare!;
    const exec = proto.exec!;
    const timer = this;
    proto.prepare = function (this: Database.Database, source: unknown) {
      const stmt = prepare.call(this, source) as Record<string, (...a: unknown[]) => unknown>;
      for (const method of ['run', 'get', 'all']) {
        const original = stmt[method]!.bind(stmt);
        stmt[method] = (...args: unknown[]) => timer.time(String(source), () => original(...args));
      }
      return stmt;
    };
    proto.exec = function (this: Database.Database, source: unknown) {
      return timer.time(`exec ${String(source)}`, () => exec.call(this, source));
    };
  }

  private time<T>(key: string, fn: () => T): T {
    if (!this.on) return fn();
    const t0 = process.hrtime.bigint();
    try {
      return fn();
    } finally {
      const c = this.costs.get(key) ?? { n: 0, ns: 0n };
      c.n++;
      c.ns += process.hrtime.bigint() - t0;
      this.costs.set(key, c);
    }
  }

  /** One line per statement, most expensive first, per request (`requests` in the timed part). */
  report(requests: number): string[] {
    const us = (ns: bigint) => Number(ns) / 1e3 / requests;
    const total = [...this.costs.values()].reduce((s, c) => s + c.ns, 0n);
    return [
      `SQL statements and transactions: ${us(total).toFixed(1)} µs per request`,
      ...[...this.costs]
        .sort((a, b) => Number(b[1].ns - a[1].ns))
        .map(
          ([sql, c]) =>
            `${us(c.ns).toFixed(2).padStart(7)} µs/req ${(c.n / requests).toFixed(2)}×/req ${(Number(c.ns) / c.n / 1e3).toFixed(1).padStart(6)} µs each  ${sql.replace(/\s+/g, ' ').slice(0, 100)}`,
        ),
    ];
  }
}
