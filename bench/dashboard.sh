#!/bin/sh
# tuxtape-dashboard: time from a key press to the redrawn screen with every CVE of the shared
# records loaded (goal: p99 <= 30 ms), and the memory (RSS) it takes. The program replays
# keys itself (--bench-keys) inside tmux at 80x24 and 200x60: each figure is handling the key
# plus drawing and doupdate() writing the terminal's bytes; tmux's own parsing is not in it.
# usage: bench/dashboard.sh [BUILDDIR]   (default: build)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}
DASH=$B/src/dashboard/tuxtape-dashboard
TT=$B/src/cli/tuxtape
BUNDLE=$SRC/../shared/data/vulns-cve-data.bundle
[ -f "$BUNDLE" ] || { echo "SKIP: $BUNDLE not found"; exit 77; }
command -v tmux >/dev/null || { echo "SKIP: tmux not installed"; exit 77; }
TMP=$(mktemp -d /tmp/tuxtape-bench.XXXXXX)
trap 'tmux -S "$TMP/sock" kill-server 2>/dev/null || true; rm -rf "$TMP"' EXIT
export XDG_DATA_HOME="$TMP/xdg" XDG_CACHE_HOME="$TMP/cache"

# The database of the tests: every record, two kernels.
SRCDIR=$SRC DASHBOARD=$DASH TUXTAPE=$TT sh -c '
    . "$SRCDIR/tests/dashboard/lib.sh"; trap - EXIT; make_db "$0"; rm -rf "$TMP"' "$TMP/t.db"

# A triage session: moving, paging, the detail pane following the cursor, filters, searches,
# every screen, a resize-sized redraw.
one="jjjjjjjjjjkkkkk<down><down><up><pgdn><pgdn><pgup><end><home>"
keys="$one$one<enter>jjjjjkkk<tab>jjjj<tab>q"
keys="$keys${one}sssssssKvKvvvvvxxRRcc/stmmac<enter>nnnnN/tcp<enter>nnn"
keys="$keys${one}2jk<enter>q3455hlhl?jjjq1<resize><resize>$one"
keys="$keys$keys$keys"

for size in 80x24 200x60; do
    w=${size%x*}; h=${size#*x}
    for run in 1 2 3; do
        out="$TMP/bench-$size-$run.txt"
        tmux -S "$TMP/sock" -f /dev/null new-session -d -s b -x "$w" -y "$h" \
            "env LANG=C.UTF-8 TERM=screen-256color $DASH --db $TMP/t.db --bench-keys '$keys' --bench-out $out"
        i=0; while tmux -S "$TMP/sock" has-session -t b 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
        tmux -S "$TMP/sock" kill-server 2>/dev/null || true
        [ -f "$out" ] || { echo "no figures from run $run at $size"; exit 1; }
        awk -v s="$size" -v r="$run" '/^(keys|cves|load_s|mean_ms|p50_ms|p99_ms|max_ms|rss_kb|hwm_kb) / { v[$1] = $2 }
            END { printf "%-7s run %d: %d keys over %d CVEs (loaded in %.2f s): mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms; RSS %.1f MiB (peak %.1f MiB)\n",
                  s, r, v["keys"], v["cves"], v["load_s"], v["mean_ms"], v["p50_ms"], v["p99_ms"], v["max_ms"], v["rss_kb"] / 1024, v["hwm_kb"] / 1024 }' "$out"
    done
done
