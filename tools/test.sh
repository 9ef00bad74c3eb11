#!/usr/bin/env bash
# The whole test suite: compile, pytest (in-process chain, anvil, js-ipfs), ruff,
# mypy and Slither. Called by `make test` and so by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/env.sh
echo "== compile"; ape compile
echo "== ruff";    ruff format --check . && ruff check .
echo "== mypy";    mypy
echo "== slither"; python -m medchain.toolchain slither
echo "== pytest";  ape test "$@"
