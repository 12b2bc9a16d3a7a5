#!/usr/bin/env bash
# Installs what moat and its tests need, once: npm packages (with the pinned Node 24), the
# Debian packages of the twin (etcd, nftables, iproute2, Java 17 and Maven for Kafka), the Kafka
# jars (scripts/install-kafka.sh, cached in ~/.cache/moat), and what the report tests use
# (chromium to render the HTML report, libxml2-utils to check JUnit against its schema),
# Prometheus and Alertmanager for scenarios' alert rules (their daemons are not started),
# bpftrace with tracefs mounted for the eBPF probes, and Docker's engine (docker.io, started) with
# debootstrap for the containers backend. Idempotent: a second run changes nothing.
# Packages come from the machine's own apt and npm configuration; no mirror is named here.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

declare -A package_for=( [etcd]=etcd-server [etcdctl]=etcd-client [nft]=nftables [ip]=iproute2 [ps]=procps [timeout]=coreutils [xmllint]=libxml2-utils [chromium]=chromium [bpftrace]=bpftrace [java]=openjdk-17-jdk-headless [javac]=openjdk-17-jdk-headless [mvn]=maven [redis-server]=redis-server [prometheus]=prometheus [promtool]=prometheus [prometheus-alertmanager]=prometheus-alertmanager [dockerd]=docker.io [debootstrap]=debootstrap )
missing=()
for program in "${!package_for[@]}"; do
  command -v "$program" >/dev/null 2>&1 || missing+=("${package_for[$program]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2207
  missing=($(printf '%s\n' "${missing[@]}" | sort -u))
  # the packages' own daemons (redis, Prometheus, Alertmanager listening on every interface) must
  # not start: moat starts its own copies inside the twin. policy-rc.d 101 tells invoke-rc.d "no".
  policy_guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy_guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$policy_guard" && chmod 755 "$policy_guard"
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$policy_guard" ] || rm -f "$policy_guard"
fi

# moat builds namespaces, bridges and nftables tables: that needs root.
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: moat needs root for network namespaces and nftables (try sudo)" >&2
  exit 1
fi

# The containers backend (twin.backend: containers) drives Docker's engine. Started here when it is
# not running, with no default bridge (nothing of moat's may reach outside: its twins use internal
# networks it makes per run) and without turning on IP forwarding.
if ! docker info >/dev/null 2>&1; then
  echo "setup: starting the Docker engine (log: /var/log/moat-dockerd.log)" >&2
  setsid nohup dockerd --bridge=none --ip-forward=false >>/var/log/moat-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || echo "setup: the Docker engine did not start (see /var/log/moat-dockerd.log); containers twins will fail" >&2
fi

# Apache Kafka for Kafka twins: jars from Maven Central, cached outside the repository.
bash scripts/install-kafka.sh

# Toxiproxy (go install, pinned) for the links between a service under test and its dependencies.
if command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ]; then bash scripts/install-tools.sh; fi

# eBPF probes attach to kernel tracepoints, which bpftrace finds through tracefs.
if [ ! -d /sys/kernel/tracing/events ] && ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || echo "setup: could not mount tracefs; runs go on without eBPF probes" >&2
fi

# The OpenTelemetry tests build a Go program; Go comes with the machine, not from apt.
command -v go >/dev/null 2>&1 || echo "setup: no Go toolchain on PATH; the Go SDK and .gopclntab tests will fail" >&2
