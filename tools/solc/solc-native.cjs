#!/usr/bin/env node
// The slice of the native `solc` command line that py-solc-x, ape-solidity and
// crytic-compile (standard-JSON mode) call, answered by solc-js (wasm) so that no
// native compiler has to be downloaded. Anything else is refused loudly rather
// than half-supported.
"use strict";
const fs = require("fs");
const path = require("path");

const solc = require(process.env.MEDCHAIN_SOLCJS_MODULE || "solc");

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], allowPaths: [], outputDir: null };
  const valued = new Set(["--base-path", "--include-path", "--allow-paths", "--output-dir"]);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (valued.has(arg) && value === null) {
      if (i + 1 >= argv.length) fail(`option '${arg}' needs a value`);
      value = argv[++i];
    }
    switch (arg) {
      case "--version":
        opts.version = true;
        break;
      case "--standard-json":
        opts.standardJson = true;
        break;
      case "--overwrite":
        break; // only meaningful with --output-dir, which standard JSON ignores too
      case "--base-path":
        opts.basePath = value;
        break;
      case "--include-path":
        opts.includePaths.push(value);
        break;
      case "--allow-paths":
        opts.allowPaths.push(...value.split(",").filter(Boolean));
        break;
      case "--output-dir":
        opts.outputDir = value;
        break;
      default:
        fail(`unrecognised option '${arg}'`);
    }
  }
  return opts;
}

// Resolve imports the way native solc does: relative to the base path, then each
// include path; only files under an allowed root are read.
function makeImportReader(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths].map((p) => path.resolve(p));
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  const isAllowed = (file) => allowed.some((root) => file === root || file.startsWith(root + path.sep));
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const candidate of candidates) {
      const file = path.resolve(candidate);
      if (!isAllowed(file)) continue;
      try {
        return { contents: fs.readFileSync(file, "utf8") };
      } catch (err) {
        if (err.code !== "ENOENT") return { error: `${importPath}: ${err.message}` };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    // py-solc-x reads the version with a regex on exactly this line shape.
    const full = solc.version().replace(/\.Emscripten\.clang$/, ".Linux.g++");
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${full}\n`);
    return;
  }
  if (!opts.standardJson) fail("only --version and --standard-json are supported by this solc-js shim");
  const input = fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: makeImportReader(opts) });
  process.stdout.write(output);
}

main();
