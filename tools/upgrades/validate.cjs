#!/usr/bin/env node
// Storage-layout and upgrade-safety check of a project contract, by OpenZeppelin's
// maintained validator (@openzeppelin/upgrades-core): compiles the named contracts with
// solc-js (standard JSON, storageLayout + AST output) into a Hardhat-style build-info
// file and runs `upgrades-core validate` on it.
//
//   node tools/upgrades/validate.cjs --contract RecordRegistryV2 --reference RecordRegistry
//   node tools/upgrades/validate.cjs --contract RecordRegistry --reference RecordRegistry \
//        --reference-commit <git rev>     # reference = the source at that commit (what is deployed)
//
// Without --reference only upgrade safety is checked (no constructor, selfdestruct,
// delegatecall, state-variable assignments ... unless annotated). Exit codes: 0 compatible,
// 1 refused (the validator's report on stdout), 2 the check itself could not run.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync, spawnSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..", "..");
const solc = require(path.join(ROOT, "node_modules", "solc"));
const CLI = path.join(ROOT, "node_modules", "@openzeppelin", "upgrades-core", "dist", "cli", "cli.js");

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = { "--contract": "contract", "--reference": "reference", "--reference-commit": "commit" }[argv[i]];
    if (!key || i + 1 >= argv.length) fail(`usage: validate.cjs --contract NAME [--reference NAME [--reference-commit REV]] (got '${argv[i]}')`);
    opts[key] = argv[i + 1];
  }
  if (!opts.contract) fail("validate.cjs: --contract NAME is required");
  if (opts.commit && !opts.reference) fail("validate.cjs: --reference-commit needs --reference");
  return opts;
}

function solidityFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return solidityFiles(full);
    return entry.name.endsWith(".sol") ? [full] : [];
  });
}

// The file under <root>/contracts declaring `contract NAME` (its source unit name is the
// path relative to root, as solc reports it in the build info).
function sourceOf(root, name) {
  const declares = new RegExp(`^\\s*(abstract\\s+)?contract\\s+${name}\\b`, "m");
  const found = solidityFiles(path.join(root, "contracts")).filter((f) => declares.test(fs.readFileSync(f, "utf8")));
  if (found.length !== 1) fail(`validate.cjs: ${found.length ? "several files declare" : "no file under contracts/ declares"} contract ${name}`);
  return path.relative(root, found[0]);
}

// Imports resolve like the project's compile: @openzeppelin/* from node_modules, the
// rest relative to the tree being compiled.
function importReader(root) {
  return (unit) => {
    const file = unit.startsWith("@") ? path.join(ROOT, "node_modules", unit) : path.join(root, unit);
    try {
      return { contents: fs.readFileSync(file, "utf8") };
    } catch (err) {
      return { error: `${unit}: ${err.message}` };
    }
  };
}

// Compile `names` from the tree at `root` into a fresh build-info directory; returns it.
function buildInfo(root, names, dirName) {
  const units = [...new Set(names.map((n) => sourceOf(root, n)))];
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(units.map((u) => [u, { content: fs.readFileSync(path.join(root, u), "utf8") }])),
    settings: {
      // The layout does not depend on these; they match ape-config.yaml so the bytecode does too.
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "paris",
      outputSelection: {
        "*": { "*": ["abi", "storageLayout", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers"], "": ["ast"] },
      },
    },
  };
  const read = importReader(root);
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: read }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length) fail(`validate.cjs: solc: ${errors[0].formattedMessage.split("\n")[0]}`);
  // A build info holds every source of the compilation, imports included (the validator
  // reads them back), as if they had all been given as input.
  for (const unit of Object.keys(output.sources)) {
    input.sources[unit] = input.sources[unit] || { content: read(unit).contents };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `medchain-${dirName}-`));
  const version = solc.version().split("+")[0];
  const info = { _format: "hh-sol-build-info-1", id: dirName, solcVersion: version, solcLongVersion: solc.version(), input, output };
  const out = path.join(dir, dirName);
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, `${dirName}.json`), JSON.stringify(info));
  return { base: dir, dir: out };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const temps = [];
  try {
    const args = ["validate"];
    if (opts.commit) {
      // The reference as deployed: the tree of that commit, compiled on its own.
      const tree = fs.mkdtempSync(path.join(os.tmpdir(), "medchain-deployed-src-"));
      temps.push(tree);
      const tar = execFileSync("git", ["-C", ROOT, "archive", opts.commit, "contracts"], { maxBuffer: 1 << 28 });
      execFileSync("tar", ["-x", "-C", tree], { input: tar });
      const deployed = buildInfo(tree, [opts.reference], "deployed");
      temps.push(deployed.base);
      const current = buildInfo(ROOT, [opts.contract], "current");
      temps.push(current.base);
      args.push(current.dir, "--contract", opts.contract, "--reference", `deployed:${opts.reference}`, "--referenceBuildInfoDirs", deployed.dir);
    } else {
      const current = buildInfo(ROOT, [opts.contract, ...(opts.reference ? [opts.reference] : [])], "current");
      temps.push(current.base);
      args.push(current.dir, "--contract", opts.contract);
      if (opts.reference) args.push("--reference", opts.reference);
    }
    const run = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
    process.stdout.write(run.stdout || "");
    process.stderr.write(run.stderr || "");
    return run.status === 0 ? 0 : run.status === 1 && /FAILED|Upgrade safety/.test(run.stdout || "") ? 1 : 2;
  } finally {
    for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
  }
}

process.exitCode = main();
