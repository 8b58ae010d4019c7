#!/bin/sh
# Rebuilds the binary seeds under fuzz/corpus/ from the sources here, compiled the way the
# kernel compiles (the flags of tests/livepatch/build-fixtures.sh).
# usage: fuzz/seed-src/make-seeds.sh   (from anywhere; needs gcc and ld)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/../corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC_FOR_SEEDS:-gcc}
flags="-O2 -c -ffunction-sections -fdata-sections -pg -mfentry -mrecord-mcount
       -mcmodel=kernel -fno-pic -mno-red-zone -fno-asynchronous-unwind-tables
       -fno-stack-protector -mfunction-return=thunk-extern -mindirect-branch=thunk-extern
       -mindirect-branch-register -fno-jump-tables -Wno-attributes
       -I$here -I$here/../../include/livepatch -ffile-prefix-map=$here/="

# fuzz-livepatch-markers: a little-endian u32 length, the original object, the patched one.
mkdir -p "$corpus/livepatch-markers" "$corpus/livepatch-diff"
for n in markers markers-kpatch markers-bad; do
    $cc $flags -o "$tmp/$n.orig.o" "$here/$n.c"
    $cc $flags -DPATCHED -o "$tmp/$n.patched.o" "$here/$n.c"
    python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<I", int(sys.argv[1])))' \
        "$(wc -c < "$tmp/$n.orig.o")" > "$corpus/livepatch-markers/$n"
    cat "$tmp/$n.orig.o" "$tmp/$n.patched.o" >> "$corpus/livepatch-markers/$n"
done
# fuzz-livepatch-diff: one object (no .o/.ko suffix: .gitignore ignores those) (diffed against itself and a mutated copy).
cp "$tmp/markers.patched.o" "$corpus/livepatch-diff/markers-patched"
cp "$tmp/markers-kpatch.orig.o" "$corpus/livepatch-diff/kpatch-orig"

# fuzz-livepatch-modsyms, fuzz-archive-modinfo: a module as kbuild links it.
mkdir -p "$corpus/livepatch-modsyms" "$corpus/archive-modinfo"
$cc -O2 -c -fno-pic -mcmodel=kernel -mno-red-zone -fno-asynchronous-unwind-tables \
    -fno-stack-protector -Wno-attributes -o "$tmp/module.o" "$here/module.c"
${LD:-ld} -r -o "$tmp/tt_seed.ko" "$tmp/module.o"
cp "$tmp/tt_seed.ko" "$corpus/livepatch-modsyms/tt_seed"
cp "$tmp/tt_seed.ko" "$corpus/archive-modinfo/tt_seed"
