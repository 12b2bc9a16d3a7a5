#!/usr/bin/env bash
# The reference load tools bench/http-generator.ts compares moat's generator with, from the
# machine's own registries: wrk from Debian (apt's configured sources) and vegeta, pinned, built
# from the Go module proxy the machine's Go is configured with. Cached in ${MOAT_CACHE:-~/.cache/moat}.
set -euo pipefail
VEGETA_VERSION=v12.13.0
cache="${MOAT_CACHE:-$HOME/.cache/moat}"
if ! command -v wrk >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
dest="$cache/vegeta-$VEGETA_VERSION"
if [ ! -x "$dest/vegeta" ]; then
  go=$(command -v go || echo /usr/local/go/bin/go)
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  GOBIN="$dest.tmp" GOFLAGS=-mod=mod "$go" install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
echo "$dest/vegeta"
