#!/bin/bash
# tuxtape-agent's costs on a node: one poll with nothing new (CPU, wall, bytes), and the
# daemon's idle RSS and CPU between polls. A fake root (/proc, /sys, /dev/kmsg) and an archive
# written by `tuxtape archive`, served by python3's http.server on 127.0.0.1.
#   bench/agent.sh BUILDDIR     (needs BUILDDIR/tests/agent/tt_lp_other.ko: ninja -C BUILDDIR)
set -eu
build=${1:?usage: bench/agent.sh BUILDDIR}
tt=$build/src/cli/tuxtape
agent=$build/src/agent/tuxtape-agent
ko=$build/tests/agent/tt_lp_other.ko
[ -r "$ko" ] || { echo "build $ko first (ninja -C $build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tt-bench-agent.XXXXXX")
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$work"' EXIT

# One module, for another kernel (the fixture's 5.10.0-tt-other): this node has nothing to load.
"$tt" archive init "$work/ar" > /dev/null
"$tt" archive add "$work/ar" "$ko" --kernel 5.10.0-tt-other --cve CVE-2024-0001 > /dev/null
"$tt" archive publish "$work/ar" > /dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/ar/public" "$port" > "$work/http.log" 2>&1 &
pids="$pids $!"
sleep 1
r=$work/root
mkdir -p "$r/proc/sys/kernel/random" "$r/sys/kernel/livepatch" "$r/dev"
echo 5.10.0-tt-bench > "$r/proc/sys/kernel/osrelease" # no patch for it: every poll is "nothing new"
echo bench-boot > "$r/proc/sys/kernel/random/boot_id"
: > "$r/dev/kmsg"
cat > "$work/agent.conf" <<CONF
archive_url = http://127.0.0.1:$port
trusted_root = $work/ar/public/metadata/1.root.json
state_dir = $work/state
sysroot = $r
interval = 1h
jitter = 0
CONF
measure() { # LABEL N: CPU (user+sys) and wall per poll over N polls, max RSS
	/usr/bin/time -f "%U %S %e %M" -o "$work/t" sh -c \
		"for i in \$(seq $2); do '$agent' --config '$work/agent.conf' check > /dev/null; done"
	read -r u s e m < "$work/t"
	printf '%-34s cpu %5.1f ms  wall %5.1f ms  max RSS %5d KiB\n' "$1" \
		"$(echo "($u + $s) * 1000 / $2" | bc -l)" "$(echo "$e * 1000 / $2" | bc -l)" "$m"
}
measure "first poll (trust, full refresh)" 1
: > "$work/http.log"
measure "poll with nothing new (mean of 20)" 20
echo "    HTTP requests per poll: $(( $(grep -ac '"GET' "$work/http.log") / 20 )) ($(grep -a '"GET' "$work/http.log" | awk '{print $7, $9}' | sort | uniq -c | awk '{printf "%s %s: %d; ", $2, $3, $1/20}'))"

# The daemon between polls: RSS after its first poll, CPU over 30 s of idling.
"$agent" --config "$work/agent.conf" daemon 2> "$work/daemon.err" &
d=$!
pids="$pids $d"
sleep 3
ticks() { awk '{print $14 + $15}' "/proc/$d/stat"; }
t0=$(ticks)
sleep 30
t1=$(ticks)
echo "daemon idle: RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$d/status), CPU over 30 s: $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )) ms"
# RSS counts every page of the shared libraries it maps; PSS divides them among their users.
echo "    $(awk '/^(Pss|Private_Clean|Private_Dirty|Anonymous):/ {printf "%s %d kB  ", $1, $2}' /proc/$d/smaps_rollup)"
kill -TERM $d
wait $d 2> /dev/null && echo "daemon: stopped cleanly, clean stop recorded: $(grep -c clean_stop "$work/state/state.json")"
