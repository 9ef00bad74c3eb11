#!/usr/bin/env bash
# Builds the pinned Kubo (`ipfs`) and IPFS Cluster (`ipfs-cluster-service`,
# `ipfs-cluster-ctl`) from the Go module proxy into .medchain/bin, for the cluster store
# and the real-node tests (docs/storage.md). Idempotent: each program is skipped while
# .medchain/bin holds it at the pinned version.
#
# The versions are pinned by two project-owned modules, tools/ipfs/kubo and
# tools/ipfs/cluster (go.mod + go.sum, built with -mod=readonly): `go install pkg@version`
# cannot be used (Kubo's go.mod has replace/exclude lines, and for IPFS Cluster it asks
# the proxy for the module's version list, which the proxy refuses here). Kubo v0.43.x
# cannot be built from the proxy at all (it replaces go-libp2p with an unpublished fork),
# so Kubo is pinned at v0.42.0. The two modules stay separate: their dependency sets differ.
# Go's module cache, build cache and GOPATH live in .medchain/go: nothing lands in $HOME.
set -euo pipefail
GO_MIN_MINOR=26  # Go 1.26 or newer

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${MEDCHAIN_HOME:-$root/.medchain}"
bin="$home/bin"
quiet=0; [ "${1:-}" = "--quiet" ] && quiet=1

say() { printf '[ipfs] %s\n' "$*"; }
die() { printf '[ipfs] error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tools/go.sh
. "$root/tools/go.sh"

pinned() {  # pinned <module dir> <module path> -> version without the v
  sed -nE "s#^[[:space:]]*$2 v([^ ]+).*#\\1#p" "$here/$1/go.mod" | head -n1
}
KUBO_VERSION=$(pinned kubo github.com/ipfs/kubo)
CLUSTER_VERSION=$(pinned cluster github.com/ipfs-cluster/ipfs-cluster)
[ -n "$KUBO_VERSION" ] && [ -n "$CLUSTER_VERSION" ] || die "cannot read the pinned versions from tools/ipfs/*/go.mod"

kubo_ok() { [ -x "$bin/ipfs" ] && [ "$("$bin/ipfs" version 2>/dev/null)" = "ipfs version $KUBO_VERSION" ]; }
cluster_ok() {
  [ -x "$bin/ipfs-cluster-service" ] && [ -x "$bin/ipfs-cluster-ctl" ] \
    && [ "$("$bin/ipfs-cluster-service" --version 2>/dev/null)" = "ipfs-cluster-service version $CLUSTER_VERSION" ] \
    && [ "$("$bin/ipfs-cluster-ctl" --version 2>/dev/null)" = "ipfs-cluster-ctl version $CLUSTER_VERSION" ]
}

if kubo_ok && cluster_ok; then
  [ "$quiet" = 1 ] || say "kubo $KUBO_VERSION and ipfs-cluster $CLUSTER_VERSION present in $bin"
  exit 0
fi

require_go "kubo $KUBO_VERSION and ipfs-cluster $CLUSTER_VERSION" "kubo and ipfs-cluster"
use_project_go_dirs
# -mod=readonly: the build uses exactly the committed go.mod/go.sum, never edits them.
# GOTOOLCHAIN=local: a Go older than a go.mod asks for is one clear error, not a download.
export GOFLAGS="-modcacherw -mod=readonly" GOTOOLCHAIN=local CGO_ENABLED="${CGO_ENABLED:-0}"

build() {  # build <module dir> <what> <go build args...>
  local dir=$1 what=$2; shift 2
  local started=$SECONDS
  say "building $what with $go_version (from the Go module proxy; a few minutes the first time)"
  (cd "$here/$dir" && go build -trimpath "$@") || die "building $what failed (see above)"
  say "$what built in $((SECONDS - started)) s"
}

kubo_ok || build kubo "kubo $KUBO_VERSION" -o "$bin/ipfs" github.com/ipfs/kubo/cmd/ipfs
kubo_ok || die "built $bin/ipfs but it does not report version $KUBO_VERSION"
cluster_ok || build cluster "ipfs-cluster $CLUSTER_VERSION" -o "$bin/" \
  github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-service \
  github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl
cluster_ok || die "built ipfs-cluster into $bin but it does not report version $CLUSTER_VERSION"
say "kubo $KUBO_VERSION and ipfs-cluster $CLUSTER_VERSION ready in $bin"
