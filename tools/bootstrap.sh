#!/usr/bin/env bash
# Sets up a clone from nothing: Python venv with pinned packages, npm parts
# (solc-js, OpenZeppelin, anvil), and the solc-js compiler registered
# where py-solc-x looks. Idempotent: each step is skipped while its inputs are
# unchanged, so the second run takes about a second.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. tools/env.sh
mkdir -p "$MEDCHAIN_HOME" "$APE_DATA_FOLDER" "$SOLCX_BINARY_PATH"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

stamp_ok() { [ -f "$MEDCHAIN_HOME/$1.stamp" ] && [ "$(cat "$MEDCHAIN_HOME/$1.stamp")" = "$2" ]; }
stamp_set() { printf '%s' "$2" > "$MEDCHAIN_HOME/$1.stamp"; }

python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "python3 not found; medchain needs Python >= 3.11"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python >= 3.11 required, found $("$python" --version)"
command -v node >/dev/null || die "node not found; install Node.js 20 (Debian: apt-get install nodejs npm)"
node -e 'process.exit(process.versions.node.split(".")[0] === "20" ? 0 : 1)' \
  || die "Node.js 20 required (solc-js and anvil are pinned against it), found $(node --version)"

# 1. npm parts, exactly as locked, and the one contract generated from them:
npm_key=$(sha256sum package-lock.json | cut -d' ' -f1)
if ! stamp_ok npm "$npm_key" || [ ! -d node_modules ]; then
  say "npm ci (solc-js, OpenZeppelin, anvil)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  stamp_set npm "$npm_key"
fi
#    contracts/zk/PoseidonT3.sol (not tracked) is npm poseidon-solidity's PoseidonT3 with
#    `library` made `contract`, so that ape builds an artifact to deploy (it builds none for a
#    library that exists only in a dependency; docs/architecture.md, Solidity conventions).
#    Rewritten only when it differs, so an unchanged file costs ape no recompile.
poseidon_npm=node_modules/poseidon-solidity/PoseidonT3.sol
poseidon_sol=contracts/zk/PoseidonT3.sol
grep -qx 'library PoseidonT3 {' "$poseidon_npm" \
  || die "$poseidon_npm has no 'library PoseidonT3 {' line to make a contract of"
sed 's/^library PoseidonT3 {$/contract PoseidonT3 {/' "$poseidon_npm" > "$poseidon_sol.tmp"
if cmp -s "$poseidon_sol.tmp" "$poseidon_sol"; then
  rm "$poseidon_sol.tmp"
else
  mv "$poseidon_sol.tmp" "$poseidon_sol"
  say "generated $poseidon_sol from $poseidon_npm"
fi

# 2. Python venv with every package pinned by constraints.txt.
py_key=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if ! stamp_ok pip "$py_key" || [ ! -x .venv/bin/python ]; then
  [ -x .venv/bin/python ] || { say "creating .venv"; "$python" -m venv .venv; }
  say "pip install (pinned by constraints.txt; ~1 min the first time)"
  pip_quiet() {  # keep real errors; drop the notes this machine's pip config prints per package
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" 2>&1 \
      | { grep -v "is ignored: it is neither a file nor a directory" || true; }
    return "${PIPESTATUS[0]}"
  }
  pip_quiet --upgrade pip
  pip_quiet -c constraints.txt -e ".[dev]"
  stamp_set pip "$py_key"
fi
# Let `source .venv/bin/activate` bring the project environment too.
grep -q 'tools/env.sh' .venv/bin/activate || printf '\n. "%s/tools/env.sh"\n' "$root" >> .venv/bin/activate

# 3. Register every installed solc-js version as a "native" solc for py-solc-x.
#    Regenerated each run: the wrapper holds this clone's absolute path.
for pkg in node_modules/solc node_modules/solc-0.*; do
  [ -f "$pkg/package.json" ] || continue
  ver=$(node -p "require('./$pkg/package.json').version")
  cat > "$SOLCX_BINARY_PATH/solc-v$ver" <<SH
#!/bin/sh
MEDCHAIN_SOLCJS_MODULE="$root/$pkg" exec node "$root/tools/solc/solc-native.cjs" "\$@"
SH
  chmod +x "$SOLCX_BINARY_PATH/solc-v$ver"
done

# 4. geth 1.13.15 for `medchain network` (a multi-node Clique chain, docs/network.md):
#    built from the Go module proxy into .medchain/bin (needs Go >= 1.26; ~2-5 min the
#    first time), skipped while present at that version.
tools/geth/build.sh --quiet

# 5. Kubo 0.42.0 and IPFS Cluster 1.1.6 for the IPFS stores and their tests (docs/storage.md):
#    built from the Go module proxy into .medchain/bin, pinned by tools/ipfs/*/go.sum
#    (~4 min of compiling the first time), skipped while present at those versions.
tools/ipfs/build.sh --quiet

# 6. ape recompiles on source changes only: when the compiler settings in ape-config.yaml
#    change (e.g. evm_version), drop the build cache so no stale bytecode is deployed.
solc_key=$(sed -n '/^solidity:/,/^[^ ]/p' ape-config.yaml | sha256sum | cut -d' ' -f1)
if ! stamp_ok solc-settings "$solc_key"; then
  [ -d .build ] && say "compiler settings changed: clearing .build (recompiled on next use)"
  rm -rf .build
  stamp_set solc-settings "$solc_key"
fi

# 7. The web portal (web/, docs/portal.md) and its browser tests: web/'s own npm packages
#    exactly as locked (Vite, ethers, playwright-core), and Debian's chromium, which
#    playwright-core drives (it cannot download a browser here). apt-get needs root, as CI has.
web_key=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if ! stamp_ok web-npm "$web_key" || [ ! -d web/node_modules ]; then
  say "npm ci in web/ (Vite, ethers, playwright-core)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  stamp_set web-npm "$web_key"
fi
if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || die "Debian's chromium is missing (browser tests): run 'apt-get update && apt-get install -y chromium' as root"
  say "apt-get install chromium (browser tests of the web portal; ~1 min)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

.venv/bin/python tools/toolchain.py check
