import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileTemplate } from '../config/handlebars.js';

/** The iPXE scripts operators may edit, compiled once at startup (never per request). */
export const SCRIPT_TEMPLATES = ['boot', 'install', 'localboot', 'discovery', 'unavailable'] as const;
export type ScriptTemplate = (typeof SCRIPT_TEMPLATES)[number];

export type TemplateSet = Record<ScriptTemplate, (vars: object) => string>;

export function loadTemplates(dir: string): TemplateSet {
  const set = {} as TemplateSet;
  for (const name of SCRIPT_TEMPLATES) {
    const file = join(dir, 'ipxe', `${name}.ipxe.hbs`);
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(
        `template ${file} cannot be read (${(err as NodeJS.ErrnoException).code}); --templates-dir must hold ipxe/${name}.ipxe.hbs`,
      );
    }
    set[name] = compileTemplate(source, file);
  }
  return set;
}
