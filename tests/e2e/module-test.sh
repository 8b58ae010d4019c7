#!/bin/bash
# A livepatch of a function in a loadable module (fs/binfmt_misc.c: what its "status" file
# reads), built with `livepatch diff --object` and `livepatch module`, loaded in qemu with
# Debian's kernel: module-test.sh before | after | span
#   before  binfmt_misc.ko is loaded first, then the livepatch
#   after   the livepatch first (its binfmt_misc object waits, patched=0), then the module,
#           which is patched as it loads
#   span    one livepatch patching vmlinux (fs/proc/version.c) and binfmt_misc
# The objects are compiled by `livepatch build --workdir` (which keeps them whatever it
# answers). Skips (77) without qemu or the kernel packages.
set -u
here=$(cd "$(dirname "$0")" && pwd)
scenario=${1:?usage: module-test.sh before|after|span}
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
. "$here"/lp-env.sh

syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || { echo "FAIL: no kallsyms dump" >&2; exit 1; }
target=$(find /lib/modules/"$KVER"/kernel/fs -name 'binfmt_misc.ko*' | head -n1)
[ -n "$target" ] || tt_skip "no binfmt_misc.ko in /lib/modules/$KVER"

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-lp-mod-$scenario.XXXXXX")
trap 'rm -rf "$work"' EXIT
patches=$here/module/binfmt-misc.patch
[ "$scenario" = span ] && patches="$patches $here/module/proc-version.patch"
pargs=
for p in $patches; do pargs="$pargs --patch $p"; done

# Compile both sides; the module is then made from the kept objects by `diff --object` and
# `module`, the commands this test is about (whatever the build itself answered).
start=$(date +%s.%N)
"$TUXTAPE" livepatch build $pargs --source-tarball "$TARBALL" --config "$CONFIG" \
	--symbols "$syms" --kbuild "$KBUILD" --workdir "$work/wd" -o "$work/unused.ko" \
	> "$work"/build.out 2>&1
for f in fs/binfmt_misc $([ "$scenario" = span ] && echo fs/proc/version); do
	for side in orig patched; do
		[ -s "$work/wd/$side/$f.o" ] ||
			{ cat "$work"/build.out >&2; echo "FAIL: no $side object of $f.c" >&2; exit 1; }
	done
done
compiled=$(date +%s.%N)

diffs=$work/binfmt.o
"$TUXTAPE" livepatch diff "$work/wd/orig/fs/binfmt_misc.o" "$work/wd/patched/fs/binfmt_misc.o" \
	--object binfmt_misc --modules-dir "$(dirname "$target")" -o "$work/binfmt.o" ||
	{ echo "FAIL: diff of binfmt_misc.o" >&2; exit 1; }
if [ "$scenario" = span ]; then
	"$TUXTAPE" livepatch diff "$work/wd/orig/fs/proc/version.o" \
		"$work/wd/patched/fs/proc/version.o" --symbols "$syms" -o "$work/version.o" ||
		{ echo "FAIL: diff of version.o" >&2; exit 1; }
	diffs="$diffs $work/version.o"
fi
name=tt_lp_mod_$scenario
"$TUXTAPE" --json livepatch module $diffs -o "$work/$name.ko" --symbols "$syms" \
	--kbuild "$KBUILD" --modules-dir /lib/modules/"$KVER" > "$work"/module.json ||
	{ cat "$work"/module.json; echo "FAIL: livepatch module" >&2; exit 1; }
built=$(date +%s.%N)
cat "$work"/module.json

# The module patches binfmt_misc through klp relocations only: no dependency on it.
ro=$(readelf -SW "$work/$name.ko")
rs=$(readelf -sW "$work/$name.ko")
printf '%s\n' "$ro" | grep -q '\.klp\.rela\.binfmt_misc\.text\.bm_status_read' ||
	{ echo "FAIL: no .klp.rela.binfmt_misc section" >&2; exit 1; }
printf '%s\n' "$rs" | grep -q '\.klp\.sym\.binfmt_misc\.enabled,0$' ||
	{ echo "FAIL: the static 'enabled' is not a .klp.sym.binfmt_misc symbol" >&2; exit 1; }
[ -z "$(modinfo -F depends "$work/$name.ko")" ] ||
	{ echo "FAIL: the livepatch depends on '$(modinfo -F depends "$work/$name.ko")'" >&2; exit 1; }
[ "$(modinfo -F livepatch "$work/$name.ko")" = Y ] || { echo "FAIL: not livepatch: Y" >&2; exit 1; }
if [ "$scenario" = span ]; then
	printf '%s\n' "$ro" | grep -q '\.klp\.rela\.vmlinux\.' ||
		{ echo "FAIL: no .klp.rela.vmlinux section" >&2; exit 1; }
fi
echo "figures: compile $(echo "$compiled - $start" | bc) s, diff+module $(echo "$built - $compiled" | bc) s"

when=before
[ "$scenario" = after ] && when=after
qstart=$(date +%s)
bash "$here"/qemu-run.sh --kver "$KVER" --target-module "$target" --target-when "$when" \
	livepatch "$work/$name.ko" "$here/module/$scenario.expect"
rc=$?
echo "figures: qemu run $(($(date +%s) - qstart)) s"
exit $rc
