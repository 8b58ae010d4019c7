#!/bin/sh
# Prints cve sync figures on the real records of ../shared/data: a full sync of 4b7dbd40 into
# an empty database (mirror already cloned), the incremental 7ef679cd -> 4b7dbd40, a sync with
# nothing new, and the peak RSS of each. Usage: bench/sync.sh [path/to/tuxtape]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
T=${1:-$here/../build/src/cli/tuxtape}
BUNDLE=${TUXTAPE_BUNDLE:-$here/../../shared/data/vulns-cve-data.bundle}
[ -f "$BUNDLE" ] || { echo "no $BUNDLE: nothing to measure"; exit 0; }
W=$(mktemp -d /tmp/tuxtape-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
git clone -q "$BUNDLE" "$W/vulns"

run() { # run LABEL ARGS... : wall seconds and peak RSS of one tuxtape run
    label=$1; shift
    /usr/bin/time -f "%e %M %U %S" -o "$W/time" "$T" -q "$@" || true
    read -r secs kb us ss <<EOF2
$(tail -n 1 "$W/time")
EOF2
    printf '%-44s %6.2f s  (cpu %5.2f s)  peak RSS %4d MiB\n' "$label" "$secs" \
        "$(echo "$us + $ss" | bc)" $((kb / 1024))
}

# Clone once (not timed with the sync): the mirror's first fetch depends on the network.
"$T" -q --db "$W/seed/t.db" cve sync --repo "$W/vulns" --rev 518d67ad
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures are only meaningful on an idle machine)"
echo "tuxtape cve sync on $(nproc) cores, $(git -C "$W/vulns" ls-tree -r 4b7dbd40 --name-only | grep -c '\.json$') records at 4b7dbd40"
for i in 1 2 3; do
    rm -f "$W/seed/t.db"*
    run "full sync of 4b7dbd40, empty database (#$i)" --db "$W/seed/t.db" cve sync --offline --rev 4b7dbd40
done
for i in 1 2 3; do
    "$T" -q --db "$W/seed/t.db" cve sync --offline --rev 7ef679cd
    run "incremental 7ef679cd -> 4b7dbd40 (#$i)" --db "$W/seed/t.db" cve sync --offline --rev 4b7dbd40
done
for i in 1 2 3; do
    run "nothing new, with a fetch (#$i)" --db "$W/seed/t.db" cve sync --rev 4b7dbd40
done
ls -l "$W/seed/t.db" | awk '{printf "database size: %d MiB\n", $5 / 1048576}'
