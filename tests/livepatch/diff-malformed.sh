#!/bin/sh
# tuxtape livepatch diff on malformed objects (fixtures corrupted by corrupt-elf.py) and a
# malformed symbol table: exit 1 at once, one error naming the file and the section (or the
# line), no output file and no temporary file left, an existing output left as it was.
# Runs with a 64 MiB file size limit: a differ that lays out a section aligned to 2^40
# would otherwise write a terabyte before failing.
set -u
: "${TUXTAPE:?}" "${LP_FIXTURES:?}" "${SRCDIR:?}"
W=$(mktemp -d /tmp/tt-lp-malformed.XXXXXX)
trap 'rm -rf "$W"' EXIT
ulimit -f 131072
fail=0
F=$LP_FIXTURES
corrupt() { # corrupt IN OUT EDIT...
    python3 "$SRCDIR/tests/livepatch/corrupt-elf.py" "$@" || { echo "FAIL: corrupt-elf.py $*"; exit 1; }
}

# diff_refused NAME ORIG PATCHED PATTERN [ARGS...]: exit 1, PATTERN on stderr, nothing left
diff_refused() {
    name=$1 orig=$2 patched=$3 pattern=$4; shift 4
    rm -rf "$W/out" && mkdir "$W/out"
    timeout 60 "$TUXTAPE" livepatch diff "$orig" "$patched" -o "$W/out/diff.o" "$@" \
        > "$W/stdout" 2> "$W/stderr"
    rc=$?
    if [ "$rc" != 1 ]; then
        echo "FAIL: $name: exit $rc, want 1"; sed 's/^/    /' "$W/stderr" | head -5; fail=1
    fi
    if ! grep -q -- "$pattern" "$W/stderr"; then
        echo "FAIL: $name: stderr lacks '$pattern'"; sed 's/^/    /' "$W/stderr" | head -5
        fail=1
    fi
    if [ "$(grep -c . "$W/stderr")" != 1 ]; then
        echo "FAIL: $name: want one error line"; sed 's/^/    /' "$W/stderr" | head -5; fail=1
    fi
    if [ -n "$(ls -A "$W/out")" ]; then
        echo "FAIL: $name: left behind:"; ls -la "$W/out" | sed 's/^/    /'; fail=1
    fi
}

# the fuzzer's crash: a __jump_table of type SHT_NULL (with relocations) segfaulted
corrupt "$F/nochange.patched.o" "$W/null-jump.o" __mcount_loc:name=__jump_table \
    __jump_table:type=0
diff_refused null-jump "$F/nochange.orig.o" "$W/null-jump.o" \
    "'$W/null-jump.o': section '__jump_table' (7) has type SHT_NULL"
diff_refused null-jump-orig "$W/null-jump.o" "$F/nochange.patched.o" "'__jump_table'"
# a table of the wrong type is refused by the differ, which reads it entry by entry
corrupt "$F/nochange.patched.o" "$W/note-bug.o" __bug_table:type=7
diff_refused note-bug "$F/nochange.orig.o" "$W/note-bug.o" \
    "section '__bug_table' has type NOTE, expected PROGBITS"
corrupt "$F/nochange.patched.o" "$W/entsize-bug.o" __bug_table:entsize=16
diff_refused entsize-bug "$F/nochange.orig.o" "$W/entsize-bug.o" \
    "section '__bug_table' has entry size 16, expected 12"
corrupt "$F/changed.patched.o" "$W/size-mcount.o" __mcount_loc:size=23
diff_refused size-mcount "$F/changed.orig.o" "$W/size-mcount.o" \
    "'.rela__mcount_loc' entry 2: offset 16 (8 bytes) is outside '__mcount_loc'"
corrupt "$F/changed.patched.o" "$W/link.o" .text.compute:link=999
diff_refused link "$F/changed.orig.o" "$W/link.o" "section '.text.compute': sh_link 999"

# a function aligned to 2^40: the output was laid out as a 1 TiB file
corrupt "$F/changed.patched.o" "$W/align.o" .text.compute:addralign=0x10000000000
start=$(date +%s)
diff_refused align "$F/changed.orig.o" "$W/align.o" \
    "section '.text.compute': alignment 1099511627776 is above 4096"
echo "refused the 2^40 alignment in $(( $(date +%s) - start )) s"
corrupt "$F/changed.patched.o" "$W/align3.o" .text.compute:addralign=3
diff_refused align3 "$F/changed.orig.o" "$W/align3.o" "alignment 3 is not a power of two"

# an existing output stays as it was when the diff is refused
printf 'previous diff\n' > "$W/keep.o"
timeout 60 "$TUXTAPE" livepatch diff "$F/changed.orig.o" "$W/align.o" -o "$W/keep.o" \
    > /dev/null 2>&1
if [ "$(cat "$W/keep.o")" != "previous diff" ]; then
    echo "FAIL: a refused diff changed the existing output"; fail=1
fi
# and a good diff replaces it through a temporary file that does not stay
if ! "$TUXTAPE" livepatch diff "$F/changed.orig.o" "$F/changed.patched.o" -o "$W/keep.o" \
    > /dev/null 2> "$W/stderr" || ! cmp -s -n 4 "$W/keep.o" "$F/changed.orig.o"; then
    echo "FAIL: the good diff"; cat "$W/stderr"; fail=1
fi
if ls "$W"/keep.o.tmp.* > /dev/null 2>&1; then
    echo "FAIL: a temporary file stayed"; fail=1
fi

# a symbol table with a bad line names the file and the line
printf 'ffffffff81000000 T _stext\nffffffff81000010 T\nffffffff81000020 t compute\n' \
    > "$W/bad.map"
diff_refused symbols "$F/changed.orig.o" "$F/changed.patched.o" \
    "'$W/bad.map':2: no symbol name" --symbols "$W/bad.map"
printf 'ffffffff81000000 T _stext\nffffffff81000010 T compute extra\n' > "$W/extra.map"
diff_refused symbols-extra "$F/changed.orig.o" "$F/changed.patched.o" \
    "'$W/extra.map':2: text after the symbol name" --symbols "$W/extra.map"
printf 'ffffffff81000000 T _stext\nffffffff81000010 t helper\t[mod]\n\n' > "$W/good.map"
"$TUXTAPE" livepatch diff "$F/changed.orig.o" "$F/changed.orig.o" --symbols "$W/good.map" \
    > /dev/null 2> "$W/stderr"
rc=$?
[ "$rc" = 3 ] || { echo "FAIL: a good symbol table: exit $rc, want 3"; cat "$W/stderr"; fail=1; }

[ "$fail" = 0 ] && echo "all passed"
exit "$fail"
