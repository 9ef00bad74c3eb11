// The dev server and the preview server both serve the address book at run time under
// /deployments/ (read from disk on every request, so a redeploy needs no rebuild) and
// forward /rpc to the node (MEDCHAIN_PORTAL_RPC, default anvil's http://127.0.0.1:8545).
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { defineConfig } from "vite";
import { bookDir, rpcTarget } from "./scripts/book.mjs";

function serveBook() {
  const middleware = (req, res, next) => {
    const m = /^\/deployments\/([A-Za-z0-9_.-]+\.json)(\?.*)?$/.exec(req.url ?? "");
    if (!m) return next();
    const file = join(bookDir(), basename(m[1]));
    if (!existsSync(file)) {
      res.statusCode = 404;
      res.end(`no ${m[1]} in address book ${bookDir()}`);
      return;
    }
    res.setHeader("Content-Type", "application/json");
    res.setHeader("Cache-Control", "no-store");
    res.end(readFileSync(file));
  };
  return {
    name: "medchain-address-book",
    configureServer(server) { server.middlewares.use(middleware); },
    configurePreviewServer(server) { server.middlewares.use(middleware); },
  };
}

const proxy = { "/rpc": { target: rpcTarget(), changeOrigin: true, rewrite: () => "/" } };

export default defineConfig({
  base: "./",
  plugins: [serveBook()],
  server: { host: "127.0.0.1", port: 5173, proxy },
  preview: { host: "127.0.0.1", port: 4173, proxy },
  build: { target: "es2022", chunkSizeWarningLimit: 1200 },
});
