import Handlebars from 'handlebars';

/**
 * A private Handlebars environment: no HTML escaping (these are iPXE scripts and YAML, not HTML),
 * strict mode so a typo in a variable name fails loudly instead of rendering an empty string.
 * Config patches (render.ts) and the iPXE script templates (boot/templates.ts) both compile here.
 */
export const handlebars = Handlebars.create();

export function compileTemplate(source: string, name: string): (vars: object) => string {
  try {
    handlebars.parse(source); // compile() is lazy: parse now so a syntax error fails at startup, not at boot time
    return handlebars.compile(source, { noEscape: true, strict: true });
  } catch (err) {
    throw new Error(`template ${name}: ${(err as Error).message}`);
  }
}

/** What a config patch can refer to (machine-settings.ts templateVars), for the error below. */
const VARIABLES =
  'machine.mac, .hostname, .role, .uuid, .serial, .ip, .installDisk, .labels.<key>; cluster.name, .talosVersion, .endpoint';

/**
 * Handlebars' strict-mode error (`"rack" not defined in [object Object] - 1:5`, or `… in
 * undefined`) in the operator's words: the expression as written in `source`, and the machine
 * (`machine`: its name) it is missing on. Other errors keep their first line.
 */
export function templateErrorMessage(err: unknown, source: string, machine?: string): string {
  const e = err as { message?: unknown; lineNumber?: number; column?: number; endColumn?: number };
  const first = String(e.message ?? err).split('\n')[0]!;
  if (!/ not defined in /.test(first) || !e.lineNumber || e.column === undefined || e.endColumn === undefined)
    return `template: ${first}`;
  const expr = source.split('\n')[e.lineNumber - 1]?.slice(e.column, e.endColumn).trim();
  if (!expr) return `template: ${first}`;
  if (/^machine\.labels\.(\[[^\]]+\]|[^.[\]]+)$/.test(expr))
    return machine ? `${expr} is not set on ${machine}` : `${expr} is not set`;
  return `${expr} is not a template variable (there are ${VARIABLES})`;
}
