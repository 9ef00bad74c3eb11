#!/usr/bin/env bash
# Builds geth (go-ethereum) at the pinned version from the Go module proxy into
# .medchain/bin/geth, for `medchain network` (a multi-node Clique chain; docs/network.md).
# Idempotent: skipped when .medchain/bin/geth already reports the pinned version.
# Go's module cache, build cache and GOPATH live in .medchain/go: nothing lands in $HOME.
#
# v1.13.15 is the last go-ethereum release that seals Clique (proof-of-authority) blocks.
# Its fjl/memsize dependency reaches into the runtime with go:linkname, which Go >= 1.23
# refuses unless linked with -checklinkname=0.
set -euo pipefail
GETH_VERSION=1.13.15
GO_MIN_MINOR=26  # Go 1.26 or newer (the version the project's machines carry and was tested)

root="$(cd "$(dirname "$0")/../.." && pwd)"
home="${MEDCHAIN_HOME:-$root/.medchain}"
bin="$home/bin"
geth="$bin/geth"

say() { printf '[geth] %s\n' "$*"; }
die() { printf '[geth] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tools/go.sh
. "$root/tools/go.sh"

# The version check reads geth's whole output first: `geth version | grep -q` fails under
# pipefail when grep stops reading early and geth dies of SIGPIPE.
has_pinned_version() { [ -x "$geth" ] && [[ "$("$geth" version 2>/dev/null)" == *$'\n'"Version: $GETH_VERSION-stable"$'\n'* ]]; }

if has_pinned_version; then
  [ "${1:-}" = "--quiet" ] || say "geth $GETH_VERSION present at $geth"
  exit 0
fi

require_go "geth $GETH_VERSION"
use_project_go_dirs
export GOBIN="$bin" GOFLAGS="-modcacherw" CGO_ENABLED="${CGO_ENABLED:-1}"
say "building geth $GETH_VERSION with $go_version (from the Go module proxy; ~2-5 min the first time)"
go install -trimpath -ldflags=-checklinkname=0 \
  "github.com/ethereum/go-ethereum/cmd/geth@v$GETH_VERSION"
has_pinned_version \
  || die "built $geth but it does not report version $GETH_VERSION"
say "geth $GETH_VERSION built at $geth"
