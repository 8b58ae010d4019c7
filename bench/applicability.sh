#!/bin/bash
# Applicability benchmarks on Debian's kernel. Prints its figures; asserts nothing.
# Needs: apt-get install linux-source-6.1 linux-image-amd64
set -euo pipefail

TUXTAPE=${TUXTAPE:-$(dirname "$0")/../build/src/cli/tuxtape}
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
CONFIG=${CONFIG:-$(ls /boot/config-6.1.0-*-amd64 2>/dev/null | grep -Ev -e -cloud- -e -rt- | sort -V | tail -1 || true)}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tuxtape-bench
RUNS=${RUNS:-5}

if [ ! -f "$TARBALL" ] || [ -z "$CONFIG" ]; then
	echo "needs linux-source-6.1 and linux-image-amd64: apt-get install linux-source-6.1 linux-image-amd64" >&2
	exit 1
fi
SRC="$CACHE/linux-source-6.1"
stamp="$(stat -c '%s %Y' "$TARBALL")"
if [ ! -f "$CACHE/source.stamp" ] || [ "$(cat "$CACHE/source.stamp")" != "$stamp" ]; then
	mkdir -p "$CACHE"
	rm -rf "$SRC"
	tar -C "$CACHE" -xJf "$TARBALL"
	echo "$stamp" >"$CACHE/source.stamp"
fi

## Static Kbuild evaluation: which files Debian's config compiles, without building.
echo "static evaluation: tuxtape kernel eval --source $SRC --config $CONFIG"
echo "machine: $(nproc) cores, $(uname -r)"
# One untimed run warms the page cache, as a service evaluating many kernels would have it.
"$TUXTAPE" -q kernel eval --source "$SRC" --config "$CONFIG" >/dev/null
times=()
for _ in $(seq "$RUNS"); do
	t0=$(date +%s.%N)
	"$TUXTAPE" -q kernel eval --source "$SRC" --config "$CONFIG" >/dev/null
	t1=$(date +%s.%N)
	times+=("$(echo "$t1 - $t0" | bc -l)")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v runs="$RUNS" '
	{ t[NR] = $1 }
	END { printf "static evaluation wall time over %d runs: min %.3f s, median %.3f s, max %.3f s\n",
	      runs, t[1], t[int((NR + 1) / 2)], t[NR] }'
"$TUXTAPE" kernel eval --source "$SRC" --config "$CONFIG" 2>&1 >/dev/null | grep '^static evaluation'
# cold cache: only when allowed to drop the page cache (root)
if [ "${COLD:-0}" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(date +%s.%N)
	"$TUXTAPE" -q kernel eval --source "$SRC" --config "$CONFIG" >/dev/null
	t1=$(date +%s.%N)
	echo "static evaluation, cold page cache: $(echo "$t1 - $t0" | bc -l | cut -c1-5) s"
fi

## Verdicts: every CVE x 10 kernels, and the counts per status for 6.1.192 with Debian's config.
BUNDLE=${VULNS_BUNDLE:-$(dirname "$0")/../../shared/data/vulns-cve-data.bundle}
if [ ! -f "$BUNDLE" ] || ! command -v sqlite3 >/dev/null; then
	echo "verdicts: skipped (needs ../shared/data/vulns-cve-data.bundle and sqlite3)"
	exit 0
fi
VDB="$CACHE/verdicts.db"
rm -rf "$CACHE/vulns" "$VDB" "$CACHE/vulns.git"
git clone -q "$BUNDLE" "$CACHE/vulns"
"$TUXTAPE" -q --db "$VDB" cve sync --repo "$CACHE/vulns" --mirror "$CACHE/vulns.git"
echo "verdicts: records at $(git -C "$CACHE/vulns" rev-parse --short=12 HEAD)," \
	"$(sqlite3 "$VDB" "SELECT count(*) FROM cve WHERE state = 'published'") published CVEs"
"$TUXTAPE" -q --db "$VDB" kernel add debian-6.1.192 --release 6.1.192 --config "$CONFIG" --source "$SRC"
for v in 4.19.300 5.10.200 5.15.160 6.1.100 6.6.30 6.8 6.9.1 6.10-rc3 6.12.5; do
	"$TUXTAPE" -q --db "$VDB" kernel add "k-$v" --release "$v" --config "$CONFIG" --source "$SRC"
done
fill=() steady=()
for _ in $(seq "$RUNS"); do
	sqlite3 "$VDB" "DELETE FROM verdict"
	fill+=("$("$TUXTAPE" --json --db "$VDB" fleet refresh | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_seconds"])')")
	steady+=("$("$TUXTAPE" --json --db "$VDB" fleet refresh | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_seconds"])')")
done
stats() { printf '%s\n' "$@" | sort -n | awk '{ t[NR] = $1 } END { printf "min %.3f s, median %.3f s, max %.3f s", t[1], t[int((NR + 1) / 2)], t[NR] }'; }
n=$(sqlite3 "$VDB" "SELECT count(*) FROM verdict")
echo "verdicts for every CVE x 10 kernels ($n verdicts), over $RUNS runs:"
echo "  computed and written into an empty table: $(stats "${fill[@]}")"
echo "  recomputed, nothing changed (as after a sync): $(stats "${steady[@]}")"
echo "verdict counts for 6.1.192 with $CONFIG (static file set):"
sqlite3 "$VDB" "SELECT '  ' || v.status || ': ' || count(*) FROM verdict v JOIN kernel k ON k.id = v.kernel_id
	WHERE k.name = 'debian-6.1.192' GROUP BY v.status ORDER BY v.status"
