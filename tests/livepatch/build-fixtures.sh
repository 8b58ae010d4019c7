#!/bin/sh
# Builds ORIG.o / PATCHED.o pairs from tests/livepatch/fixtures/*.c the way the kernel
# compiles (fentry, function sections, kernel code model, return thunks), then runs the
# kernel's objtool on them when linux-headers has one, for real ORC and .return_sites.
# usage: build-fixtures.sh FIXTURES_DIR OUT_DIR STAMP
set -eu
src=$1 out=$2 stamp=$3
cc=${CC_FOR_FIXTURES:-gcc}
mkdir -p "$out"
flags="-O2 -c -ffunction-sections -fdata-sections -pg -mfentry -mrecord-mcount
       -mcmodel=kernel -fno-pic -mno-red-zone -fno-asynchronous-unwind-tables
       -fno-stack-protector -mfunction-return=thunk-extern -mindirect-branch=thunk-extern
       -mindirect-branch-register -fno-jump-tables -Wno-attributes -I$src"
objtool=
for o in /usr/src/linux-headers-*-amd64/tools/objtool/objtool; do
    [ -x "$o" ] && objtool=$o && break
done
for f in "$src"/*.c; do
    n=$(basename "$f" .c)
    # -ffile-prefix-map keeps __FILE__ independent of where the tree is
    $cc $flags -ffile-prefix-map="$src/"= -o "$out/$n.orig.o" "$f"
    $cc $flags -ffile-prefix-map="$src/"= -DPATCHED -o "$out/$n.patched.o" "$f"
    if [ -n "$objtool" ]; then
        for o in "$out/$n.orig.o" "$out/$n.patched.o"; do
            "$objtool" --orc --retpoline --rethunk --no-unreachable "$o" >/dev/null 2>&1 || true
        done
    fi
done
# The fake module tt_fixmod.ko for the klp tests: its files compiled without function
# sections and linked with `ld -r`, as kbuild builds Debian's modules; and the ORIG.o /
# PATCHED.o pair of module/tgt.c with the differ's flags.
m=$src/module
if [ -d "$m" ]; then
    mflags="-O2 -c -fno-pic -mcmodel=kernel -mno-red-zone -fno-toplevel-reorder
            -fno-asynchronous-unwind-tables -fno-stack-protector -I$src"
    $cc $mflags -o "$out/mod-tgt.o" "$m/tgt.c"
    $cc $mflags -o "$out/mod-other.o" "$m/other.c"
    $cc $mflags -o "$out/mod-keys.o" "$m/keys.c"
    ${LD:-ld} -r -o "$out/tt_fixmod.ko" "$out/mod-tgt.o" "$out/mod-other.o" "$out/mod-keys.o"
    $cc $flags -ffile-prefix-map="$m/"= -o "$out/mod-tgt.orig.o" "$m/tgt.c"
    $cc $flags -ffile-prefix-map="$m/"= -DPATCHED -o "$out/mod-tgt.patched.o" "$m/tgt.c"
    $cc $flags -ffile-prefix-map="$m/"= -o "$out/mod-keys.orig.o" "$m/keys.c"
    $cc $flags -ffile-prefix-map="$m/"= -DPATCHED -o "$out/mod-keys.patched.o" "$m/keys.c"
    $cc $flags -ffile-prefix-map="$m/"= -DPATCHED -DBRANCH -o "$out/mod-keys.branch.o" \
        "$m/keys.c"
    $cc $flags -ffile-prefix-map="$m/"= -DPATCHED -DSHORT -o "$out/mod-keys.short.o" \
        "$m/keys.c"
    if [ -n "$objtool" ]; then
        for o in "$out/mod-tgt.orig.o" "$out/mod-tgt.patched.o" "$out/mod-keys.orig.o" \
                 "$out/mod-keys.patched.o" "$out/mod-keys.branch.o" \
                 "$out/mod-keys.short.o"; do
            "$objtool" --orc --retpoline --rethunk --no-unreachable "$o" >/dev/null 2>&1 || true
        done
    fi
fi
[ -n "$objtool" ] && echo objtool > "$stamp" || echo plain > "$stamp"
