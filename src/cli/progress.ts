/**
 * Download progress on stderr: a redrawn bar on a terminal; on anything else (CI logs, pipes)
 * one line when a download starts and one when a file is in place, because a log full of
 * carriage returns helps nobody.
 */
import type { ProgressSink } from '../assets/download.js';
import { bytes } from './output.js';

/** The bar currently drawn, if any: an error printed mid-download must not land on its line. */
let drawing: TerminalProgress | undefined;

export function endProgressLine(): void {
  drawing?.interrupt();
}

export function progressFor(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  return stream.isTTY ? new TerminalProgress(stream) : new LineProgress(stream);
}

class LineProgress implements ProgressSink {
  constructor(private readonly out: NodeJS.WritableStream) {}
  start(name: string, url: string, total: number | undefined, resumedFrom: number): void {
    const size = total !== undefined ? ` (${bytes(total)})` : '';
    const resume = resumedFrom > 0 ? `, resuming at ${bytes(resumedFrom)}` : '';
    this.out.write(`${name}: downloading ${url}${size}${resume}\n`);
  }
  advance(): void {}
  done(name: string, summary: string): void {
    this.out.write(`${name}: ${summary}\n`);
  }
  note(message: string): void {
    this.out.write(`${message}\n`);
  }
}

class TerminalProgress implements ProgressSink {
  private name = '';
  private total: number | undefined;
  private received = 0;
  private startedAt = 0;
  private startBytes = 0;
  private lastDraw = 0;
  private active = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  start(name: string, _url: string, total: number | undefined, resumedFrom: number): void {
    Object.assign(this, {
      name,
      total,
      received: resumedFrom,
      startBytes: resumedFrom,
      startedAt: Date.now(),
      lastDraw: 0,
      active: true,
    });
    drawing = this;
    this.draw(true);
  }

  advance(n: number): void {
    this.received += n;
    this.draw(false);
  }

  done(name: string, summary: string): void {
    this.clear();
    this.out.write(`✓ ${name}  ${summary}\n`);
  }

  note(message: string): void {
    this.clear();
    this.out.write(`${message}\n`);
  }

  /** Keep the bar as it stands and move to a new line. */
  interrupt(): void {
    if (this.active) this.out.write('\n');
    this.active = false;
  }

  private clear(): void {
    if (this.active) this.out.write('\r\x1b[2K');
    this.active = false;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return; // ~10 redraws a second is plenty
    this.lastDraw = now;
    const seconds = Math.max((now - this.startedAt) / 1000, 0.001);
    const rate = `${bytes(Math.round((this.received - this.startBytes) / seconds))}/s`;
    const width = 24;
    let line: string;
    if (this.total) {
      const frac = Math.min(this.received / this.total, 1);
      const filled = Math.round(frac * width);
      line = `${this.name}  [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${bytes(this.received)} / ${bytes(this.total)}  ${rate}`;
    } else {
      line = `${this.name}  ${bytes(this.received)}  ${rate}`;
    }
    const columns = this.out.columns || 100;
    this.out.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
  }
}
