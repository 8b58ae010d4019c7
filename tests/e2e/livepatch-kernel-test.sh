#!/bin/bash
# livepatch build --kernel NAME with Debian's installed kernel recorded in the inventory: the
# module built from the recorded source, config, kbuild and symbols is for that kernel and
# loads in it (qemu); the refusals when a recorded value no longer holds (unknown kernel,
# kbuild directory gone or now another release's, symbol table changed), and an explicit
# option overriding the changed one.
set -u
here=$(cd "$(dirname "$0")" && pwd)
patches=$here/../livepatch/patches
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
. "$here"/lp-env.sh

syms=$("$here"/qemu-run.sh --kver "$KVER" kallsyms-cached) || { echo "FAIL: no kallsyms dump" >&2; exit 1; }
img_ver=$(dpkg-query -W -f='${Version}' "linux-image-$KVER" 2> /dev/null ||
	  dpkg-query -W -f='${Version}' "linux-image-$KVER-unsigned" 2> /dev/null)
[ -n "$img_ver" ] || tt_skip "cannot tell linux-image-$KVER's package version"

work=$(mktemp -d "${TMPDIR:-/tmp}/tt-lp-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
tt() { "$TUXTAPE" --db "$work/t.db" "$@"; }
expect() { # expect STATUS ARGS... (livepatch build's stdout/stderr in $work/out, $work/err)
	local want=$1 rc=0
	shift
	tt livepatch build "$@" > "$work/out" 2> "$work/err" || rc=$?
	[ "$rc" = "$want" ] || { fail "livepatch build $*: exit $rc, want $want"; cat "$work/err" >&2; }
}
err_has() { grep -qF -- "$1" "$work/err" || { fail "stderr lacks '$1'"; cat "$work/err" >&2; }; }

# The kernel recorded as an administrator would: /lib/modules/RELEASE/build through a link
# (so that the test can later point it elsewhere) and the symbol table dumped from the kernel.
ln -s "$KBUILD" "$work/kbuild"
cp "$syms" "$work/kallsyms"
banner="Linux version $KVER (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian $img_ver (2000-01-01)"
tt kernel add deb --release "$KVER" --proc-version "$banner" --config "$CONFIG" \
	--source-tarball "$TARBALL" --kbuild "$work/kbuild" --symbols "$work/kallsyms" \
	--no-changelog > /dev/null 2> "$work/err" || { cat "$work/err" >&2; echo "FAIL: kernel add" >&2; exit 1; }

# ---- the build from what is recorded ----
expect 0 --json --kernel deb --patch "$patches/a-static-helper.patch" -o "$work/a.ko"
python3 - "$work/out" "$KVER" <<'EOF' || fail "the report does not name the kernel"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["result"] == "written", r["result"]
assert r["kernel"] == "deb" and r["kernel_release"] == sys.argv[2], (r["kernel"], r["kernel_release"])
assert r["functions"] == ["meminfo_proc_show"], r["functions"]
EOF
[ "$(modinfo -F livepatch "$work/a.ko")" = Y ] || fail "modinfo does not show livepatch: Y"
case "$(modinfo -F vermagic "$work/a.ko")" in
"$KVER "*) ;;
*) fail "vermagic '$(modinfo -F vermagic "$work/a.ko")' is not $KVER's" ;;
esac
"$here"/qemu-run.sh --kver "$KVER" livepatch "$work/a.ko" "$patches/a-static-helper.expect" \
	> "$work/qemu.log" 2>&1 || { cat "$work/qemu.log" >&2; fail "the module built with --kernel does not load and work"; }

# ---- refusals ----
expect 1 --kernel nope --patch "$patches/a-static-helper.patch" -o "$work/x.ko"
err_has "no kernel 'nope' in the inventory"

# the symbol table changed since it was recorded (one symbol more)
cp "$work/kallsyms" "$work/kallsyms.orig"
echo "ffffffffc0000000 t tuxtape_extra" >> "$work/kallsyms"
expect 1 --kernel deb --patch "$patches/a-static-helper.patch" -o "$work/x.ko"
err_has "kernel 'deb': its symbol table '$work/kallsyms' changed since it was recorded"
# ... which an explicit --symbols overrides
expect 0 --kernel deb --symbols "$work/kallsyms.orig" --patch "$patches/a-static-helper.patch" -o "$work/b.ko"
err_has "kbuild $work/kbuild (recorded), symbols given"
[ -s "$work/b.ko" ] || fail "no module built with --symbols overriding the recorded one"
cp "$work/kallsyms.orig" "$work/kallsyms"

# the kbuild directory now another release's (headers replaced in place)
mkdir -p "$work/other/include/generated"
echo '#define UTS_RELEASE "6.1.0-0-other"' > "$work/other/include/generated/utsrelease.h"
ln -sfn "$work/other" "$work/kbuild"
expect 1 --kernel deb --patch "$patches/a-static-helper.patch" -o "$work/x.ko"
err_has "kernel 'deb': its recorded kbuild directory (kbuild) '$work/kbuild' is the kbuild directory of release 6.1.0-0-other, not $KVER"
# ... or gone
rm "$work/kbuild"
expect 1 --kernel deb --patch "$patches/a-static-helper.patch" -o "$work/x.ko"
err_has "kernel 'deb': its recorded kbuild directory (kbuild) '$work/kbuild': No such file or directory"
[ ! -e "$work/x.ko" ] || fail "a refused build wrote a module"

[ "$fails" = 0 ] || exit 1
echo "PASS: livepatch build --kernel: built from the recorded kernel, loaded in qemu; 4 refusals, 1 override"
