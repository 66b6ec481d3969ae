/** Resolve hook of resolve-nocobase.mjs: `@nocobase/*` from this package, whoever imports it. */
const here = new globalThis.URL('../package.json', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier.startsWith('@nocobase/')) return nextResolve(specifier, { ...context, parentURL: here });
  return nextResolve(specifier, context);
}
