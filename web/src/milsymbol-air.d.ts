// milsymbol's ES entry with named parts (index.mjs) is not in its package "exports", so the
// build aliases "milsymbol-air" to that file (vite.config.ts) to load the air symbol set only.
declare module "milsymbol-air" {
  import type msDefault from "milsymbol";
  export const ms: typeof msDefault & { addIcons(parts: unknown): void };
  export const numberair: unknown;
}
