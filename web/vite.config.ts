// Build the air picture into the package, where `bastion serve` serves it at "/".
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset URLs: the page works wherever the service mounts it, with no CDN.
  base: "./",
  resolve: {
    // milsymbol's per-symbol-set ES entry (not in its "exports"): only the air set is bundled.
    alias: { "milsymbol-air": fileURLToPath(new URL("./node_modules/milsymbol/index.mjs", import.meta.url)) },
  },
  build: {
    outDir: "../src/bastion/live/web_dist",
    emptyOutDir: true,
    // The Natural Earth land topojson stays a separate file, fetched once at start-up.
    assetsInlineLimit: 4096,
    chunkSizeWarningLimit: 600,
  },
});
