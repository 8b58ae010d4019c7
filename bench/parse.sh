#!/bin/sh
# Prints how fast cve_record_parse_json() reads the CVE records of ../shared/data (every
# cve/*/*/*.json at the bundle's HEAD, from memory, one thread), and json_loadb() alone on
# the same bytes for reference. Usage: bench/parse.sh [BUILDDIR]  (a meson build of tuxtape)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
B=${1:-$here/../build}
BUNDLE=${TUXTAPE_BUNDLE:-$here/../../shared/data/vulns-cve-data.bundle}
[ -f "$BUNDLE" ] || { echo "no $BUNDLE: nothing to measure"; exit 0; }
[ -f "$B/src/lib/libtuxtape.a" ] || { echo "no $B/src/lib/libtuxtape.a: build first"; exit 1; }
W=$(mktemp -d /tmp/tuxtape-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
git clone -q "$BUNDLE" "$W/vulns"
${CC:-cc} -O2 -std=c17 -D_GNU_SOURCE -I"$here/../src/lib" -I"$here/../src/shared" \
    "$here/record-parse.c" "$B/src/lib/libtuxtape.a" "$B/src/shared/libtt-shared.a" \
    $(pkg-config --cflags --libs jansson) -o "$W/record-parse"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures are only meaningful on an idle machine)"
"$W/record-parse" "$W/vulns"
"$W/record-parse" "$W/vulns" --jansson
