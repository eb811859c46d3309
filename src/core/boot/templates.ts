import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The iPXE scripts operators may edit, compiled once at startup (never per request). */
export const SCRIPT_TEMPLATES = ['boot', 'install', 'localboot', 'discovery', 'unavailable'] as const;
export type ScriptTemplate = (typeof SCRIPT_TEMPLATES)[number];

export type TemplateSet = Record<ScriptTemplate, (vars: object) => string>;

/**
 * A private Handlebars environment: no HTML escaping (these are iPXE scripts and YAML, not HTML),
 * strict mode so a typo in a variable name fails loudly instead of rendering an empty string.
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

export function loadTemplates(dir: string): TemplateSet {
  const set = {} as TemplateSet;
  for (const name of SCRIPT_TEMPLATES) {
    const file = join(dir, 'ipxe', `${name}.ipxe.hbs`);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`template ${file} cannot be read (${(err as NodeJS.ErrnoException).code}); --templates-dir must hold ipxe/${name}.ipxe.hbs`);
    }
    set[name] = compileTemplate(source, file);
  }
  return set;
}
