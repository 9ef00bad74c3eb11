#!/usr/bin/env bash
# The whole test suite: compile, ruff, mypy, Slither, then pytest (in-process chain,
# anvil, geth, Kubo, IPFS Cluster, Chromium). Called by `make test` and so by .ci/run. Each gate runs on its own
# line so that `set -e` stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/env.sh
echo "== compile"
ape compile
echo "== ruff"
ruff format --check .
ruff check .
echo "== mypy"
mypy
echo "== slither"
python tools/toolchain.py slither
echo "== pytest"
ape test --durations=30 "$@"
