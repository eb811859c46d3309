/**
 * Talos v1.14's install controller on the kernel log. With an `UnattendedInstallConfig` document
 * Talos runs no `install` sequence: `runtime.UnattendedInstallController` installs and says so only
 * through machined's logger, which writes controller lines to the kernel log as zap's console
 * encoder does without time and level: `[talos] <message> {"component": "controller-runtime",
 * "controller": "<name>", <fields>}`. The lines it writes (Talos v1.14.0-rc.1):
 *
 *   installing Talos {… "disk": "/dev/sda", "image": "factory.talos.dev/metal-installer/…:v1.14.0"}
 *   install successful {…}
 *   requesting reboot after successful install {…}
 *   not rebooting after successful install (reboot disabled) {…}
 *   multiple disks matched the install selector, using the first one {… "matched": 2, "disk": "/dev/sda"}
 *   installer image not specified in config, using image from boot entry {… "image": "…"}
 *
 * A failing installer is the controller's error, which the controller runtime logs as
 * `controller failed {… "error": "failed to run installer: …"}` (Talos suppresses a controller's
 * first four errors on the console, then logs every one, and retries the install meanwhile). A
 * disk selector that matches no disk logs nothing at all.
 */

export const INSTALL_CONTROLLER = 'runtime.UnattendedInstallController';

/** A machined line split into zap's message and its structured fields (empty when it has none). */
export interface ZapLine {
  message: string;
  fields: Record<string, unknown>;
}

// Bounds the tries on a line full of ` {"`: lines are at most 16 KiB, the fields come last.
const MAX_FIELD_STARTS = 8;

/** `text` is what follows `[talos] `. The fields are the trailing JSON object, when there is one. */
export function splitZapLine(text: string): ZapLine {
  let from = 0;
  for (let i = 0; i < MAX_FIELD_STARTS; i++) {
    const at = text.indexOf(' {"', from);
    if (at < 0) break;
    const fields = parseObject(text.slice(at + 1));
    if (fields) return { message: text.slice(0, at).trim(), fields };
    from = at + 1;
  }
  return { message: text.trim(), fields: {} };
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** What one of the install controller's lines says about the install. */
export type InstallControllerSignal =
  | { kind: 'install-started'; message: string; disk: string | null; image: string | null }
  | { kind: 'install-succeeded'; message: string }
  | { kind: 'install-reboot-requested'; message: string }
  | { kind: 'install-no-reboot'; message: string }
  | { kind: 'install-warning'; message: string; detail: Record<string, unknown> }
  | { kind: 'install-failed'; message: string; error: string };

const str = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, 512) : null);

/** Only lines the install controller wrote (its name in the fields), so no other text can pose as one. */
export function classifyInstallControllerLine(line: ZapLine): InstallControllerSignal | null {
  if (line.fields.controller !== INSTALL_CONTROLLER) return null;
  const { message, fields } = line;
  if (message === 'installing Talos')
    return { kind: 'install-started', message, disk: str(fields.disk), image: str(fields.image) };
  if (message === 'install successful') return { kind: 'install-succeeded', message };
  if (message === 'requesting reboot after successful install') return { kind: 'install-reboot-requested', message };
  if (message.startsWith('not rebooting after successful install')) return { kind: 'install-no-reboot', message };
  if (
    message.startsWith('multiple disks matched the install selector') ||
    message.startsWith('installer image not specified in config')
  ) {
    const detail: Record<string, unknown> = {};
    for (const key of ['disk', 'matched', 'image'])
      if (key in fields) detail[key] = typeof fields[key] === 'number' ? fields[key] : str(fields[key]);
    return { kind: 'install-warning', message, detail };
  }
  if (message === 'controller failed')
    return { kind: 'install-failed', message, error: str(fields.error) ?? 'no error text' };
  return null;
}
