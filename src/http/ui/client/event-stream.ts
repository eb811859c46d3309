import { currentToken, notifyUnauthorized } from './api.js';

export type StreamStatus = 'live' | 'reconnecting' | 'off';

export interface StreamHandlers {
  status(status: StreamStatus): void;
  /** Runs on every (re)connect, so the page can catch up on what it missed. */
  open(): void;
  event(type: string, data: unknown): void;
}

/**
 * The live event stream, read with fetch: EventSource cannot send an Authorization header, and a
 * token in the URL would end up in access logs and browser history. Parses SSE (event/data/id/
 * retry fields, comments) and reconnects after a drop; onOpen runs on every (re)connect so the
 * page can catch up on what it missed.
 */
export class EventStream {
  private ctrl: AbortController | null = null;
  private stopped = false;
  private retryMs = 3000;

  constructor(
    private readonly path: string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.ctrl) this.ctrl.abort();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const ctrl = new AbortController();
      this.ctrl = ctrl;
      try {
        const res = await fetch(this.path, {
          headers: { authorization: `Bearer ${currentToken()}`, accept: 'text/event-stream' },
          signal: ctrl.signal,
          cache: 'no-store',
        });
        if (res.status === 401) {
          notifyUnauthorized();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
        this.handlers.status('live');
        this.handlers.open();
        await this.read(res.body.getReader());
      } catch {
        if (ctrl.signal.aborted) return;
      }
      if (this.stopped) return;
      this.handlers.status('reconnecting');
      const wait = this.retryMs;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      buf += decoder.decode(chunk.value, { stream: true });
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        this.dispatch(block);
      }
    }
  }

  private dispatch(block: string): void {
    let type = 'message';
    const data: string[] = [];
    for (const raw of block.split('\n')) {
      const line = raw.replace(/\r$/, '');
      if (!line || line[0] === ':') continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Math.max(1000, Number(value));
    }
    if (!data.length) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    this.handlers.event(type, parsed);
  }
}
