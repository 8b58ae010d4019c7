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
[ -n "$objtool" ] && echo objtool > "$stamp" || echo plain > "$stamp"
