#!/bin/sh
# bench/archive.sh [KERNELS] [PATCHES]: a signed archive of KERNELS kernel releases x PATCHES
# livepatch modules each (fake but well-formed .ko files), then
#   - the bytes a node downloads per refresh for its own kernel (root check, timestamp,
#     snapshot, targets, its kernel's role; cold, and warm after a patch for another kernel
#     and for its own);
#   - the time to publish one new patch (add + publish) in the full archive.
# Needs gcc and objcopy. TUXTAPE names the binary (default build/src/cli/tuxtape).
set -eu
KERNELS=${1:-1000}
PATCHES=${2:-20}
TUXTAPE=${TUXTAPE:-build/src/cli/tuxtape}
# tmpfs by default: 20,000 staged modules are each fsynced, which measures the disk, not tuxtape
TMP=$(mktemp -d "${BENCH_TMP:-/dev/shm}/tuxtape-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
A="$TMP/arch"
M="$A/public/metadata"

ms() { date +%s%N; }
since() { echo $((($(date +%s%N) - $1) / 1000000)); }

echo 'int tt_lp_fn(void) { return 42; }' | gcc -c -x c - -o "$TMP/base.o"
mk_kernel_ko() { # mk_kernel_ko RELEASE OUT
    printf 'name=livepatch_bench\0vermagic=%s SMP preempt mod_unload modversions \0livepatch=Y\0license=GPL\0' \
        "$1" >"$TMP/mi"
    objcopy --add-section .modinfo="$TMP/mi" "$TMP/base.o" "$2"
}

"$TUXTAPE" -q archive init "$A"
t0=$(ms)
k=1
while [ "$k" -le "$KERNELS" ]; do
    rel="6.1.0-$k-amd64"
    mk_kernel_ko "$rel" "$TMP/k.ko"
    rm -rf "$TMP/mods"; mkdir "$TMP/mods"
    p=1
    while [ "$p" -le "$PATCHES" ]; do
        # distinct bytes after the ELF image: a distinct module as far as hashes go
        { cat "$TMP/k.ko"; printf 'patch %d of %s' "$p" "$rel"; } >"$TMP/mods/livepatch-$p.ko"
        p=$((p + 1))
    done
    "$TUXTAPE" -q archive add "$A" "$TMP"/mods/*.ko --kernel "$rel" \
        --cve CVE-2024-10001 --cve CVE-2024-10002 --patch-sha256 "$(printf '%064d' "$k")" \
        --approved-by bench >/dev/null
    k=$((k + 1))
done
t_build=$(since "$t0")
t0=$(ms)
"$TUXTAPE" -q archive publish "$A"
t_first=$(since "$t0")

size() { stat -c %s "$1"; }
gz() { gzip -9c "$1" | wc -c; }
snap() { ls "$M"/*.snapshot.json | sed 's|.*/||' | sort -n | tail -1; }
latest() { ls "$M"/*."$1".json | sed 's|.*/||' | sort -n | tail -1; }
mine="6.1.0-1-amd64"
ts=$(size "$M/timestamp.json"); sn=$(size "$M/$(snap)")
tg=$(size "$M/$(latest targets)"); kr=$(size "$M/$(latest "$mine")")
cold=$((ts + sn + tg + kr))
cold_gz=$(($(gz "$M/timestamp.json") + $(gz "$M/$(snap)") + $(gz "$M/$(latest targets)") + $(gz "$M/$(latest "$mine")")))

# One new patch for another kernel: add + publish.
other="6.1.0-$KERNELS-amd64"
mk_kernel_ko "$other" "$TMP/k.ko"
{ cat "$TMP/k.ko"; printf 'new patch'; } >"$TMP/livepatch-new.ko"
t0=$(ms)
"$TUXTAPE" -q archive add "$A" "$TMP/livepatch-new.ko" --kernel "$other" --cve CVE-2025-10001 >/dev/null
"$TUXTAPE" -q archive publish "$A"
t_one=$(since "$t0")
warm_other=$(($(size "$M/timestamp.json") + $(size "$M/$(snap)")))
warm_other_gz=$(($(gz "$M/timestamp.json") + $(gz "$M/$(snap)")))

# One new patch for the node's own kernel.
mk_kernel_ko "$mine" "$TMP/k.ko"
{ cat "$TMP/k.ko"; printf 'own patch'; } >"$TMP/livepatch-own.ko"
"$TUXTAPE" -q archive add "$A" "$TMP/livepatch-own.ko" --kernel "$mine" >/dev/null
"$TUXTAPE" -q archive publish "$A"
warm_own=$(($(size "$M/timestamp.json") + $(size "$M/$(snap)") + $(size "$M/$(latest "$mine")")))

t0=$(ms)
"$TUXTAPE" -q archive timestamp "$A"
t_ts=$(since "$t0")

echo "archive: $KERNELS kernels x $PATCHES patches ($(find "$A/public/targets" -type f | wc -l) modules)"
echo "  built with $KERNELS adds of $PATCHES modules in ${t_build} ms; first publish (all roles) ${t_first} ms"
echo "  metadata: timestamp $ts B, snapshot $sn B, targets $tg B, one kernel's role $kr B"
echo "per refresh, one node (its kernel's role only; the root check is one 404):"
echo "  cold (nothing cached):                 $cold B ($cold_gz B gzipped)"
echo "  warm, a patch for another kernel:      $warm_other B ($warm_other_gz B gzipped)"
echo "  warm, a patch for its own kernel:      $warm_own B + the module"
echo "  warm, nothing new:                     $ts B (timestamp.json only)"
echo "publish one new patch (add + publish):   ${t_one} ms"
echo "re-sign the timestamp (cron):            ${t_ts} ms"
