#!/bin/bash
# Real-kernel path: a Debian 6.1 translation unit (fs/proc/version.c) compiled original
# and patched in a prepared kernel tree, `livepatch diff`, `livepatch module`, then the
# module loaded in qemu by tests/e2e/qemu-run.sh. Skips (77) without the prepared tree
# (TT_KERNEL_TREE: linux-source-6.1 with Debian's .config after `make modules_prepare`),
# the headers of the running Debian kernel, or qemu.
set -u
: "${TUXTAPE:?}" "${SRCDIR:?}"
skip() { echo "SKIP: $*"; exit 77; }
tree=${TT_KERNEL_TREE:-}
kver=${TT_KVER:-6.1.0-56-amd64}
kbuild=/lib/modules/$kver/build
[ -n "$tree" ] && [ -f "$tree/include/generated/autoconf.h" ] || skip "TT_KERNEL_TREE is not a prepared linux-source-6.1 tree"
[ -f "$kbuild/Module.symvers" ] || skip "no $kbuild/Module.symvers (linux-headers-$kver)"
syms=$(bash "$SRCDIR/tests/e2e/qemu-run.sh" --kver "$kver" kallsyms-cached 2>/dev/null) || skip "no kallsyms dump (qemu)"
work=$(mktemp -d /tmp/tt-lp-real-XXXXXX)
trap 'rm -rf "$work"' EXIT
src=fs/proc/version.c
(
    # the tree is shared: one writer at a time, and the source is always restored
    flock 9
    cp "$tree/$src" "$work/orig.c"
    trap 'cp "$work/orig.c" "$tree/$src"' EXIT
    make -s -C "$tree" KCFLAGS="-ffunction-sections -fdata-sections" "${src%.c}.o" >"$work/make.log" 2>&1 || exit 1
    cp "$tree/${src%.c}.o" "$work/orig.o"
    sed 's|^\treturn 0;\n}|X|' "$work/orig.c" | awk '
        /utsname\(\)->version\);/ && !done { print; print "\tseq_puts(m, \"[tuxtape-diff]\\n\");"; done=1; next } { print }' >"$tree/$src"
    make -s -C "$tree" KCFLAGS="-ffunction-sections -fdata-sections" "${src%.c}.o" >>"$work/make.log" 2>&1 || exit 1
    cp "$tree/${src%.c}.o" "$work/patched.o"
    cp "$work/orig.c" "$tree/$src"
    make -s -C "$tree" KCFLAGS="-ffunction-sections -fdata-sections" "${src%.c}.o" >>"$work/make.log" 2>&1
) 9>"$tree/.tuxtape-lock" || { cat "$work/make.log"; echo "FAIL: compiling $src"; exit 1; }

"$TUXTAPE" livepatch diff "$work/orig.o" "$work/patched.o" -o "$work/diff.o" --symbols "$syms" || { echo "FAIL: diff"; exit 1; }
"$TUXTAPE" livepatch diff "$work/orig.o" "$work/orig.o"; rc=$?
[ "$rc" = 3 ] || { echo "FAIL: self-diff exit $rc, want 3"; exit 1; }
"$TUXTAPE" livepatch module "$work/diff.o" -o "$work/tt_lp_version.ko" --symbols "$syms" --kbuild "$kbuild" || { echo "FAIL: module"; exit 1; }
modinfo "$work/tt_lp_version.ko" | grep -q '^livepatch: *Y' || { echo "FAIL: modinfo livepatch"; exit 1; }
modinfo "$work/tt_lp_version.ko" | grep -q "^vermagic: *$kver " || { echo "FAIL: vermagic"; exit 1; }
readelf -SW "$work/tt_lp_version.ko" | grep -q '\.klp\.rela\.vmlinux\.' || { echo "FAIL: no .klp.rela section"; exit 1; }
cat >"$work/expect" <<'EOX'
cmd: cat /proc/version
before: ^Linux version
before: !tuxtape-diff
after: ^\[tuxtape-diff\]$
unload: !tuxtape-diff
rc-after: 0
EOX
bash "$SRCDIR/tests/e2e/qemu-run.sh" --kver "$kver" livepatch "$work/tt_lp_version.ko" "$work/expect"
