/** The part of a pino logger the listeners use (so tests can pass a silent or recording one). */
export interface TalosLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: TalosLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Garbage from the network is worth one warning per sender and kind every `intervalMs`, not one
 * per packet: a broken or hostile sender must not flood the log. The rest goes to debug.
 */
export function rateLimitedWarn(logger: TalosLogger, intervalMs = 60_000, maxKeys = 1024) {
  const last = new Map<string, number>();
  return (key: string, obj: object, msg: string) => {
    const now = Date.now();
    const prev = last.get(key);
    if (prev !== undefined && now - prev < intervalMs) return logger.debug(obj, msg);
    last.delete(key);
    last.set(key, now);
    if (last.size > maxKeys) last.delete(last.keys().next().value!);
    logger.warn(obj, msg);
  };
}
