#!/bin/bash
# Prints the time from a one-file patch to a livepatch .ko with `tuxtape livepatch build`:
# cold (empty cache: extract, olddefconfig, modules_prepare, compile, diff, link) and warm
# (cache kept, a new patch to another file), for Debian's installed kernel packages.
# Usage: bench/livepatch.sh [path/to/tuxtape]   (needs the packages tests/e2e/lp-env.sh names)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
T=${1:-$here/../build/src/cli/tuxtape}
patches=$here/../tests/livepatch/patches
(. "$here"/../tests/e2e/lp-env.sh) || { echo "kernel packages missing: nothing to measure"; exit 0; }
. "$here"/../tests/e2e/lp-env.sh

# The symbol table comes from a qemu boot, cached outside the measured cache.
syms=$("$here"/../tests/e2e/qemu-run.sh --kver "$KVER" kallsyms-cached)
W=$(mktemp -d /tmp/tuxtape-bench-lp.XXXXXX)
trap 'rm -rf "$W"' EXIT

run() { # run LABEL PATCH: wall and CPU seconds, and tuxtape's own phase times
	label=$1 patch=$2
	case $patch in
	/*) pfile=$patch ;;
	*) pfile=$patches/$patch.patch ;;
	esac
	patch=$(basename "$patch" .patch)
	XDG_CACHE_HOME=$W/${CACHE:-cache} /usr/bin/time -f "%e %U %S" -o "$W/time" \
		"$T" --json livepatch build --patch "$pfile" \
		--source-tarball "$TARBALL" --config "$CONFIG" --symbols "$syms" \
		--kbuild "$KBUILD" -o "$W/$patch.ko" > "$W/out.json" 2> "$W/err" ||
		{ cat "$W/err" "$W/out.json" >&2; exit 1; }
	read -r wall user sys < "$W/time"
	phases=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["seconds"]; print(" ".join("%s %.1f" % (k, s[k]) for k in ("prepare","compile","diff","module_build")))' "$W/out.json" 2>/dev/null || echo "?")
	printf '%-40s %6.1f s wall  %6.1f s cpu   (%s)\n' "$label" "$wall" \
		"$(echo "$user + $sys" | bc)" "$phases"
}

echo "tuxtape livepatch build, $KVER, $(basename "$TARBALL"), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "cold: a-static-helper (fs/proc/meminfo.c)" a-static-helper
run "warm: b-globals (fs/proc/cmdline.c)" b-globals
run "warm: d-bounds-check (kernel/sys.c)" d-bounds-check
run "warm again: a-static-helper" a-static-helper
run "warm: module binfmt_misc (fs/binfmt_misc.c)" "$here/../tests/e2e/module/binfmt-misc.patch"
# A module patch from an empty cache too: a second cache directory, not the first one
# deleted (removing a 1.2 GB tree just before a cold build measured the disk's discards, 2-3
# times the system time, not tuxtape; the trap removes both at the end).
CACHE=cache2 run "cold: module binfmt_misc" "$here/../tests/e2e/module/binfmt-misc.patch"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
