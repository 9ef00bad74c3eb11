# Go helpers shared by tools/geth/build.sh and tools/ipfs/build.sh. Sourced after the script
# has set GO_MIN_MINOR, home, bin and die.

# require_go <what> [<what, when Go is too old>]: one clear line and exit 1 unless Go >=
# 1.$GO_MIN_MINOR is on PATH (no build is attempted); sets go_version (e.g. go1.26.8).
require_go() {
  command -v go >/dev/null || die "Go >= 1.$GO_MIN_MINOR not found; install Go (https://go.dev/dl) to build $1"
  go_version=$(go env GOVERSION 2>/dev/null || true)   # e.g. go1.26.8
  local minor
  minor=$(printf '%s' "$go_version" | sed -nE 's/^go1\.([0-9]+).*/\1/p')
  [ -n "$minor" ] && [ "$minor" -ge "$GO_MIN_MINOR" ] \
    || die "Go >= 1.$GO_MIN_MINOR required to build ${2:-$1}, found ${go_version:-an unknown version}"
}

# use_project_go_dirs: creates $bin and keeps Go's GOPATH, build cache and module cache in
# $home/go, so nothing lands in $HOME.
use_project_go_dirs() {
  mkdir -p "$bin" "$home/go"
  export GOPATH="$home/go/path" GOCACHE="$home/go/cache" GOMODCACHE="$home/go/mod"
}
