#!/bin/sh
# What livepatch build --kernel takes from the inventory: kernel add/set-build/import-running
# record a kbuild directory and a symbol table (path and SHA-256), kernel show reports them,
# a database made before they existed upgrades, and every recorded value that no longer holds
# (gone, changed, another release) or was never recorded is refused by name before any build
# work. The real kernel's build is tests/e2e/livepatch-kernel-test.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../helpers/fixtures.sh"

DB="$TMP/db/t.db"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
out_has() { # out_has PATTERN : the last command's stdout matches
    if grep -q -- "$1" "$TMP/out"; then pass; else
        fail "stdout lacks '$1'"; sed 's/^/    stdout: /' "$TMP/out" | head -5
    fi
}
one_line_error() {
    if [ "$(wc -l <"$TMP/err")" = 1 ]; then pass; else fail "stderr is not one line"; cat "$TMP/err"; fi
}
jget() { # jget KEY : KEY of the JSON object in $TMP/out
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$TMP/out" "$1"
}

# ---- a tiny kernel tree (net/core/dev.c with text for the patch), a kbuild directory,
# symbol tables ----
K="$TMP/linux"
fixture_kernel_tree "$K"
fixture_put "$K" net/core/dev.c 'int dev(void)\n{\n\treturn 0;\n}\n'
fixture_kernel_config "$TMP/config"
kbuild() { # kbuild DIR RELEASE
    mkdir -p "$1/include/generated"
    echo "#define UTS_RELEASE \"$2\"" >"$1/include/generated/utsrelease.h"
    cp "$TMP/config" "$1/.config"
}
kbuild "$TMP/kb" 6.1.40
kbuild "$TMP/kb-other" 6.1.41
seq 1 3000 | sed 's/^/ffffffff81000000 T sym_/' >"$TMP/System.map"
echo 'ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package' \
    >"$TMP/placeholder"
printf 'just\nthree\nlines\n' >"$TMP/short"
printf -- '--- a/net/core/dev.c\n+++ b/net/core/dev.c\n@@ -1,4 +1,4 @@\n int dev(void)\n {\n-\treturn 0;\n+\treturn 1;\n }\n' \
    >"$TMP/fix.patch"

# ---- recording ----
expect_exit 0 tt kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K" \
    --kbuild "$TMP/kb" --symbols "$TMP/System.map"
expect_exit 0 tt --json kernel show k1
check "kbuild recorded" [ "$(jget kbuild)" = "$TMP/kb" ]
check "symbols recorded" [ "$(jget symbols)" = "$TMP/System.map" ]
check "symbols digest recorded" [ "$(jget symbols_sha256)" = "$(sha256sum <"$TMP/System.map" | cut -d' ' -f1)" ]
check "source recorded absolute" [ "$(jget source)" = "$K" ]
expect_exit 0 tt kernel show k1
out_has "^kbuild:     $TMP/kb\$"
out_has "^symbols:    $TMP/System.map (sha256 "
# relative paths are recorded absolute
(cd "$TMP" && tt kernel add k1rel --release 6.1.40 --config config --source linux \
    --kbuild kb --symbols System.map >/dev/null 2>&1) || fail "kernel add with relative paths"
expect_exit 0 tt --json kernel show k1rel
check "relative kbuild made absolute" [ "$(jget kbuild)" = "$TMP/kb" ]
check "relative source made absolute" [ "$(jget source)" = "$K" ]

# refused at add: one-line errors naming the option and the file, nothing stored
tt --json kernel list >"$TMP/before"
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$K" --kbuild "$TMP/kb-other"
err_has "\-\-kbuild '$TMP/kb-other' is the kbuild directory of release 6.1.41, not 6.1.40"
one_line_error
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$K" --kbuild "$TMP/nowhere"
err_has "\-\-kbuild '$TMP/nowhere'"
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$K" --kbuild "$K"
err_has "is not a kbuild directory: include/generated/utsrelease.h is missing"
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$K" --symbols "$TMP/placeholder"
err_has "Debian's placeholder"
one_line_error
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$K" --symbols "$TMP/short"
err_has "\-\-symbols '$TMP/short' is not a kernel's symbol table: 3 lines"
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$K" --symbols "$TMP/nowhere"
err_has "\-\-symbols '$TMP/nowhere'"
tt --json kernel list >"$TMP/after"
check "nothing stored by refused adds" cmp -s "$TMP/before" "$TMP/after"

# set-build: a kernel recorded without them
expect_exit 0 tt kernel add k2 --release 6.1.40 --config "$TMP/config" --source "$K"
expect_exit 0 tt kernel show k2
out_has "^kbuild:     - (none recorded"
expect_exit 0 tt --json kernel show k2
check "no kbuild without --kbuild" [ "$(jget kbuild)" = null ]
expect_exit 64 tt kernel set-build k2
expect_exit 1 tt kernel set-build nope --kbuild "$TMP/kb"
err_has "no kernel 'nope'"
expect_exit 1 tt kernel set-build k2 --kbuild "$TMP/kb-other"
err_has "of release 6.1.41, not 6.1.40"
expect_exit 0 tt --json kernel show k2
check "refused set-build stores nothing" [ "$(jget kbuild)" = null ]

# ---- livepatch build --kernel: refusals before any build work ----
lpb() { tt livepatch build --patch "$TMP/fix.patch" -o "$TMP/out.ko" "$@"; }
expect_exit 1 lpb --kernel nope
err_has "no kernel 'nope' in the inventory"
one_line_error
expect_exit 1 lpb --kernel k2
err_has "kernel 'k2' has no kbuild directory recorded: pass --kbuild DIR, or record it with 'tuxtape kernel set-build k2 --kbuild DIR'"
one_line_error
expect_exit 0 tt kernel set-build k2 --kbuild "$TMP/kb"
expect_exit 1 lpb --kernel k2
err_has "kernel 'k2' has no symbol table recorded: pass --symbols FILE"
expect_exit 0 tt --json kernel set-build k2 --symbols "$TMP/System.map"
check "set-build --json names the digest" [ "$(jget symbols_sha256)" = "$(sha256sum <"$TMP/System.map" | cut -d' ' -f1)" ]
check "set-build keeps the kbuild" [ "$(jget kbuild)" = "$TMP/kb" ]
expect_exit 64 lpb --kernel k1 --source "$K" --source-tarball "$TMP/x.tar"
expect_exit 64 lpb --config "$TMP/config"
"$TUXTAPE" --db "$DB" --json livepatch build --patch "$TMP/fix.patch" --kernel nope >"$TMP/out" 2>/dev/null || true
check "--json error on stdout" grep -q '"error".*no kernel' "$TMP/out"

# the symbol table changed since it was recorded
cp "$TMP/System.map" "$TMP/System.map.orig"
echo 'ffffffff81000001 T sym_new' >>"$TMP/System.map"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its symbol table '$TMP/System.map' changed since it was recorded"
err_has "pass --symbols FILE, or record it again with 'tuxtape kernel set-build k1 --symbols FILE'"
one_line_error
rm "$TMP/System.map"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its recorded symbol table (symbols) '$TMP/System.map'"
mv "$TMP/System.map.orig" "$TMP/System.map"

# the kbuild directory now says another release, or is gone
echo '#define UTS_RELEASE "6.1.99"' >"$TMP/kb/include/generated/utsrelease.h"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its recorded kbuild directory (kbuild) '$TMP/kb' is the kbuild directory of release 6.1.99, not 6.1.40"
one_line_error
expect_exit 1 lpb --kernel k1 --kbuild "$TMP/kb-other"
err_has "kernel 'k1': --kbuild '$TMP/kb-other' is the kbuild directory of release 6.1.41, not 6.1.40"
mv "$TMP/kb" "$TMP/kb.moved"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its recorded kbuild directory (kbuild) '$TMP/kb': No such file or directory: pass --kbuild DIR"

# a given kbuild directory overrides the recorded one: resolution passes, the build goes on
# (and fails later on this toy tree, for its own reasons)
kbuild "$TMP/kb2" 6.1.40
expect_exit 1 lpb --kernel k1 --kbuild "$TMP/kb2"
err_has "kernel 'k1' (6.1.40): source $K (recorded), config recorded, kbuild $TMP/kb2 (given), symbols recorded"
if grep -q "kbuild directory (kbuild)" "$TMP/err"; then fail "a given --kbuild still checked the recorded one"; else pass; fi
mv "$TMP/kb.moved" "$TMP/kb"
kbuild "$TMP/kb" 6.1.40

# the source is gone
mv "$K" "$K.moved"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its recorded source '$K' is gone"
err_has "pass --source DIR or --source-tarball FILE"
mv "$K.moved" "$K"

# the source replaced since it was recorded: a tree of another version, another tarball
sed -i 's/^SUBLEVEL = 40/SUBLEVEL = 41/' "$K/Makefile"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its source tree '$K' is now 6.1.41, it was 6.1.40 when recorded (source_version)"
one_line_error
sed -i 's/^SUBLEVEL = 41/SUBLEVEL = 40/' "$K/Makefile"
tar -C "$TMP" -cf "$TMP/linux.tar" linux
expect_exit 0 tt kernel add kt --release 6.1.40 --config "$TMP/config" --source-tarball "$TMP/linux.tar" \
    --kbuild "$TMP/kb" --symbols "$TMP/System.map"
expect_exit 0 tt --json kernel show kt
check "tarball digest recorded" [ "$(jget source_sha256)" = "$(sha256sum <"$TMP/linux.tar" | cut -d' ' -f1)" ]
printf 'int new(void);\n' >"$K/net/core/new.h"
tar -C "$TMP" -cf "$TMP/linux.tar" linux
rm "$K/net/core/new.h"
expect_exit 1 lpb --kernel kt
err_has "kernel 'kt': its source tarball '$TMP/linux.tar' changed since it was recorded (source_sha256 "
one_line_error
# rewritten in place with its size and modification time put back: still a change
tar -C "$TMP" -cf "$TMP/linux.tar" linux
expect_exit 0 tt kernel add kt2 --release 6.1.40 --config "$TMP/config" --source-tarball "$TMP/linux.tar" \
    --kbuild "$TMP/kb" --symbols "$TMP/System.map"
expect_exit 1 lpb --kernel kt2
err_has "kernel 'kt2' (6.1.40): source $TMP/linux.tar (recorded)"
python3 - "$TMP/linux.tar" <<'PY'
import os, sys
p = sys.argv[1]; st = os.stat(p)
with open(p, 'r+b') as f:
    f.seek(st.st_size - 1); b = f.read(1); f.seek(st.st_size - 1); f.write(bytes([b[0] ^ 1]))
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
expect_exit 1 lpb --kernel kt2
err_has "kernel 'kt2': its source tarball '$TMP/linux.tar' changed since it was recorded"
tar -C "$TMP" -cf "$TMP/linux.tar" linux
# a tree whose version can no longer be read, or was never recorded, cannot be vouched for
mv "$K/Makefile" "$K/Makefile.away"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its source tree '$K' has no readable version in its Makefile any more"
mv "$K/Makefile.away" "$K/Makefile"
sqlite3 "$DB" "UPDATE kernel SET source_version = NULL WHERE name = 'k1'"
expect_exit 1 lpb --kernel k1
err_has "kernel 'k1': its source tree '$K' was recorded without a version"
sqlite3 "$DB" "UPDATE kernel SET source_version = '6.1.40' WHERE name = 'k1'"
# --symbols given with --kernel is checked like a recorded one
expect_exit 1 lpb --kernel k1 --symbols "$TMP/placeholder"
err_has "kernel 'k1': --symbols"

# ---- import-running finds them below --root ----
F="$TMP/root"
REL=6.1.0-56-amd64
mkdir -p "$F/proc/sys/kernel" "$F/boot" "$F/lib/modules/$REL"
echo $REL >"$F/proc/sys/kernel/osrelease"
echo "Linux version $REL (debian-kernel@lists.debian.org) (gcc-12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.40-1 (2023-07-01)" >"$F/proc/version"
cp "$TMP/config" "$F/boot/config-$REL"
kbuild "$F/lib/modules/$REL/build" $REL
cp "$TMP/placeholder" "$F/boot/System.map-$REL"
expect_exit 0 tt kernel import-running r1 --root "$F" --source "$K" --no-changelog
err_has "no symbol table found for $REL"
expect_exit 0 tt --json kernel show r1
check "import-running records the kbuild" [ "$(jget kbuild)" = "$F/lib/modules/$REL/build" ]
check "import-running skips Debian's placeholder" [ "$(jget symbols)" = null ]
# a kallsyms dump of that image in the cache, as tests/e2e/qemu-run.sh kallsyms-cached keeps it
printf 'not a real image\n' >"$F/boot/vmlinuz-$REL"
mkdir -p "$XDG_CACHE_HOME/tuxtape/kallsyms"
dump="$XDG_CACHE_HOME/tuxtape/kallsyms/$REL-$(sha256sum <"$F/boot/vmlinuz-$REL" | cut -c1-16)"
cp "$TMP/System.map" "$dump"
expect_exit 0 tt kernel import-running r2 --root "$F" --source "$K" --no-changelog
expect_exit 0 tt --json kernel show r2
check "import-running takes the cached kallsyms dump" [ "$(jget symbols)" = "$dump" ]
# a real System.map wins over the dump
cp "$TMP/System.map" "$F/boot/System.map-$REL"
expect_exit 0 tt kernel import-running r3 --root "$F" --source "$K" --no-changelog
expect_exit 0 tt --json kernel show r3
check "import-running takes a real System.map" [ "$(jget symbols)" = "$F/boot/System.map-$REL" ]
# a kbuild directory of another release below lib/modules/RELEASE is not taken
echo '#define UTS_RELEASE "6.1.0-0-other"' >"$F/lib/modules/$REL/build/include/generated/utsrelease.h"
expect_exit 0 tt kernel import-running r5 --root "$F" --source "$K" --no-changelog
err_has "no kbuild directory found for $REL"
expect_exit 0 tt --json kernel show r5
check "import-running skips another release's kbuild" [ "$(jget kbuild)" = null ]
kbuild "$F/lib/modules/$REL/build" $REL
# an explicit option wins over what is found
expect_exit 0 tt kernel import-running r4 --root "$F" --source "$K" --no-changelog --symbols "$dump"
expect_exit 0 tt --json kernel show r4
check "import-running --symbols wins" [ "$(jget symbols)" = "$dump" ]

# the running kernel's /proc/kallsyms, saved into the cache once (vmlinux's lines only), and
# not when its addresses are hidden (kptr_restrict, not root)
G="$TMP/root2"
REL2=6.1.0-57-amd64
mkdir -p "$G/proc/sys/kernel" "$G/boot"
echo $REL2 >"$G/proc/sys/kernel/osrelease"
sed "s/$REL/$REL2/g" "$F/proc/version" >"$G/proc/version"
cp "$TMP/config" "$G/boot/config-$REL2"
printf 'another image\n' >"$G/boot/vmlinuz-$REL2"
dump2="$XDG_CACHE_HOME/tuxtape/kallsyms/$REL2-$(sha256sum <"$G/boot/vmlinuz-$REL2" | cut -c1-16)"
# booted an hour from now, as far as the fake /proc/stat says: the image predates the boot
printf 'cpu  1 2 3 4\nbtime %s\n' "$(($(date +%s) + 3600))" >"$G/proc/stat"
sed 's/^ffffffff81000000/0000000000000000/' "$TMP/System.map" >"$G/proc/kallsyms"
expect_exit 0 tt kernel import-running h1 --root "$G" --source "$K" --no-changelog
err_has "no kbuild directory or symbol table found for $REL2"
check "hidden kallsyms addresses are not saved" [ ! -e "$dump2" ]
{ cat "$TMP/System.map"; echo 'ffffffffc0001000 t mod_fn	[some_mod]'; } >"$G/proc/kallsyms"
# an image written after the boot is not the running kernel's: its symbols are not filed under it
printf 'cpu  1 2 3 4\nbtime 1000\n' >"$G/proc/stat"
expect_exit 0 tt kernel import-running hb --root "$G" --source "$K" --no-changelog
check "an image replaced since boot gets no kallsyms dump" [ ! -e "$dump2" ]
printf 'cpu  1 2 3 4\nbtime %s\n' "$(($(date +%s) + 3600))" >"$G/proc/stat"
expect_exit 0 tt kernel import-running h2 --root "$G" --source "$K" --no-changelog
expect_exit 0 tt --json kernel show h2
check "the running kernel's kallsyms is saved and recorded" [ "$(jget symbols)" = "$dump2" ]
check "the saved kallsyms is for root's eyes only (0600)" [ "$(stat -c %a "$dump2")" = 600 ]
check "the saved kallsyms holds vmlinux's lines only" cmp -s "$dump2" "$TMP/System.map"
echo 'ffffffffc0002000 t mod_fn2	[other_mod]' >>"$G/proc/kallsyms"
expect_exit 0 tt kernel import-running h3 --root "$G" --source "$K" --no-changelog
expect_exit 0 tt --json kernel show h3
check "a module loaded since does not change the saved dump" [ "$(jget symbols_sha256)" = "$(sha256sum <"$TMP/System.map" | cut -d' ' -f1)" ]

# ---- a database made before these columns existed upgrades in place ----
tt --json kernel show k2 >"$TMP/k2.before"
sqlite3 "$DB" 'ALTER TABLE kernel DROP COLUMN kbuild; ALTER TABLE kernel DROP COLUMN symbols;
               ALTER TABLE kernel DROP COLUMN symbols_sha256;
               ALTER TABLE kernel DROP COLUMN source_sha256; PRAGMA user_version = 6;'
expect_exit 0 tt --json kernel show k2
check "upgraded: kbuild column back, empty" [ "$(jget kbuild)" = null ]
check "upgraded: the schema version moved on" [ "$(sqlite3 "$DB" 'PRAGMA user_version')" -ge 7 ]
expect_exit 1 lpb --kernel k2
err_has "kernel 'k2' has no kbuild directory recorded"
expect_exit 0 tt kernel set-build k2 --kbuild "$TMP/kb" --symbols "$TMP/System.map"
expect_exit 0 tt --json kernel show k2
check "upgraded database records them" [ "$(jget kbuild)" = "$TMP/kb" ]
# a tarball recorded before digests were kept is not vouched for
expect_exit 0 tt kernel set-build kt --kbuild "$TMP/kb" --symbols "$TMP/System.map"
expect_exit 1 lpb --kernel kt
err_has "kernel 'kt': its source tarball '$TMP/linux.tar' was recorded without its SHA-256"

finish
