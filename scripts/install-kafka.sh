#!/usr/bin/env bash
# Installs the Apache Kafka jars the twin runs (twin/services/kafka/pom.xml) into the cache,
# outside the repository: ${MOAT_CACHE:-~/.cache/moat}/kafka-<version>/libs. Idempotent: a
# complete install (marked by .complete, written last) is left alone. Maven resolves from the
# repositories configured on this machine (its settings.xml), so no host name is written here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pom="$root/twin/services/kafka/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
cache="${MOAT_CACHE:-$HOME/.cache/moat}"
dest="$cache/kafka-$version"
if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$(sha256sum "$pom" | cut -d' ' -f1)" ]; then
  exit 0
fi
command -v mvn >/dev/null || { echo "install-kafka: mvn (Maven) is needed to fetch the Kafka jars: apt-get install maven" >&2; exit 1; }
command -v java >/dev/null || { echo "install-kafka: Java 17+ is needed to run Kafka: apt-get install openjdk-17-jre-headless" >&2; exit 1; }
echo "install-kafka: Apache Kafka $version jars -> $dest/libs"
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dest.tmp/libs" -DincludeScope=runtime
rm -rf "$dest" && mv "$dest.tmp" "$dest"
sha256sum "$pom" | cut -d' ' -f1 > "$dest/.complete"
