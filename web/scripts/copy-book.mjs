// After `vite build`: copy the address book (index.json + <Contract>.json) into
// dist/deployments/ so dist/ can be served by any static server. Nothing is embedded
// in the JavaScript: the page fetches deployments/*.json at run time either way.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { bookDir } from "./book.mjs";

const from = bookDir();
const to = resolve(import.meta.dirname, "..", "dist", "deployments");
if (!existsSync(join(from, "index.json"))) {
  console.log(`[portal] no address book at ${from}: dist/ has none (the preview server reads it at run time)`);
} else {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from).filter((f) => f.endsWith(".json"))) copyFileSync(join(from, f), join(to, f));
  console.log(`[portal] copied address book ${from} -> dist/deployments/`);
}
