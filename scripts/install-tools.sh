#!/usr/bin/env bash
# Builds the Go tools the twin runs, at pinned versions, into the cache outside the repository:
# Toxiproxy's server (${MOAT_CACHE:-~/.cache/moat}/toxiproxy-<version>/toxiproxy-server), with
# `go install` from the Go module proxy configured on this machine. Idempotent. The ledger service
# under test (twin/apps/ledger) is built by moat itself on first use, into the same cache.
set -euo pipefail
cache="${MOAT_CACHE:-$HOME/.cache/moat}"
root="$(cd "$(dirname "$0")/.." && pwd)"
# the one place the version is written: TOXIPROXY_VERSION in twin/services/app/service.ts
toxiproxy_version="$(sed -n "s/^export const TOXIPROXY_VERSION = '\(.*\)';$/\1/p" "$root/twin/services/app/service.ts")"
[ -n "$toxiproxy_version" ] || { echo "install-tools: no TOXIPROXY_VERSION in twin/services/app/service.ts" >&2; exit 1; }
export PATH="$PATH:/usr/local/go/bin"
dest="$cache/toxiproxy-$toxiproxy_version"
if [ ! -x "$dest/toxiproxy-server" ]; then
  command -v go >/dev/null || { echo "install-tools: Go is needed to build Toxiproxy" >&2; exit 1; }
  echo "install-tools: Toxiproxy $toxiproxy_version -> $dest" >&2
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  GOBIN="$dest.tmp" GOFLAGS=-mod=mod go install "github.com/Shopify/toxiproxy/v2/cmd/server@$toxiproxy_version"
  mv "$dest.tmp/server" "$dest.tmp/toxiproxy-server"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
fi
