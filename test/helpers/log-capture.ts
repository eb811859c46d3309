/** A pino logger whose lines a test can read back: what metalboot logged, to assert on (or search for secrets in). */
import pino from 'pino';
import { Writable } from 'node:stream';

export function captureLog(level: pino.LevelWithSilent = 'trace') {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const text = () => chunks.join('');
  return {
    logger: pino({ level }, stream),
    text,
    /** Each line parsed as JSON. */
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}
