// Bundles frame/host.js (Daimo's DaimoFrame + React, from node_modules) into dist/frame-host.js for
// frame/index.html. Run by scripts/tools.sh whenever the lock or the sources change.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

await build({
  absWorkingDir: here,
  entryPoints: ["frame/host.js"],
  outfile: "dist/frame-host.js",
  bundle: true,
  format: "esm",
  platform: "browser",
  minify: false,
  // React picks its build from process.env.NODE_ENV; the production one is what integrators ship.
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
