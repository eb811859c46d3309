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
