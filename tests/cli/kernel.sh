#!/bin/sh
# Kernel inventory, verdicts and cve patch on a tiny kernel tree, CVE repository and linux
# repository the test builds: add/list/show/files/rm, import-running, bad input with one-line
# errors and nothing stored, verdict statuses, sync refreshing verdicts, fleet summary.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../helpers/fixtures.sh"

DB="$TMP/db/t.db"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
one_line_error() { # the last command's stderr is exactly one line
    if [ "$(wc -l <"$TMP/err")" = 1 ]; then pass; else fail "stderr is not one line"; cat "$TMP/err"; fi
}

# ---- a tiny kernel tree: net/core/dev.c built in, drivers/foo.c a module, fs/bar.c left out ----
K="$TMP/linux"
fixture_kbuild "$K" 6.1.40 net/core/dev.c drivers/foo.c:FOO fs/bar.c:BAR
fixture_kernel_config "$TMP/config" CONFIG_FOO=m '# CONFIG_BAR is not set'

# ---- a linux repository with a mainline fix and its 6.1 backport in two commits ----
L="$TMP/linux-git"
fixture_linux_git "$L" 1 2 "The bug let anyone in.

Signed-off-by: Kernel Dev <dev@example.org>"
fixture_put "$L" net/core/dev.c 'int dev(void)\n{\n\treturn 3;\n}\n'
git -C "$L" commit -qam "net: fix dev harder (6.1 backport, part 2)"
FIX_61B=$(git -C "$L" rev-parse HEAD)
MISSING=0123456789abcdef0123456789abcdef01234567

# ---- a CVE repository ----
R="$TMP/vulns"
fixture_vulns "$R"
record() { # record ID FILES(json list) DYAD-LINES
    fixture_cve_record "$R" "$@"
}
record CVE-2024-1001 '["net/core/dev.c"]' "5.10:$BASE:6.1.50:$FIX_61\n5.10:$BASE:6.1.50:$FIX_61B\n5.10:$BASE:6.2:$FIX_MAIN\n"
echo "$FIX_MAIN" >"$R/cve/published/2024/CVE-2024-1001.sha1"
record CVE-2024-1002 '["fs/bar.c"]' "5.10:$BASE:6.2:$MISSING\n"
record CVE-2024-1003 '["net/core/dev.c"]' "6.5:$BASE:6.7:$MISSING\n"
record CVE-2024-1004 '["include/linux/skbuff.h"]' "5.10:$BASE:6.2:$MISSING\n"
record CVE-2024-1005 '["drivers/foo.c","fs/bar.c"]' "6.1.30:$BASE:6.1.45:$MISSING\n6.3:$BASE:6.4:$MISSING\n"
fixture_vulns_commit "$R" one
expect_exit 0 tt cve sync --repo "$R"

# ---- help of every new command ----
for c in add list show rm files import-running; do
    expect_exit 0 tt kernel "$c" --help
done
expect_exit 0 tt fleet summary --help
expect_exit 0 tt fleet refresh --help
expect_exit 0 tt cve patch --help

# ---- kernel add, list, show, files ----
expect_exit 0 tt kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K"
err_has "6.1.40 is 6.1.40 (stable)"
expect_exit 0 tt kernel list
check "list names k1" grep -q '^k1 .*6.1.40 .*static' "$TMP/out"
expect_exit 0 tt kernel show k1
check "show states the mapping" grep -q 'version:    6.1.40 (mapping: stable)' "$TMP/out"
check "show states the file method" grep -q 'files:      3, from static evaluation' "$TMP/out"
expect_exit 0 tt kernel files k1
printf 'arch/x86/kernel/setup.c\ndrivers/foo.c\nnet/core/dev.c\n' >"$TMP/want"
check "files sorted, one per line" diff -u "$TMP/want" "$TMP/out"
expect_exit 0 tt --json kernel files k1
check "files --json has kind" grep -q '"kind": "module"' "$TMP/out"
check "files --json has how" grep -q '"how": ".*drivers/Makefile' "$TMP/out"

# ---- verdicts ----
status_of() { # status_of KERNEL CVE
    "$TUXTAPE" --db "$DB" --json cve list --kernel "$1" |
        python3 -c "import json,sys; print({e['id']: e['status'] for e in json.load(sys.stdin)}.get('$2'))"
}
check "affected: compiled .c, vulnerable version" [ "$(status_of k1 CVE-2024-1001)" = affected ]
check "not-compiled" [ "$(status_of k1 CVE-2024-1002)" = not-compiled ]
check "not-affected: introduced later" [ "$(status_of k1 CVE-2024-1003)" = not-affected ]
check "unknown: header only" [ "$(status_of k1 CVE-2024-1004)" = unknown ]
check "backport-introduced, module" [ "$(status_of k1 CVE-2024-1005)" = affected ]
expect_exit 0 tt --json cve list --kernel k1
check "list --json has reason" grep -q '"reason": "fix touches only headers\|"reason": ".*fix touches only headers: include/linux/skbuff.h"' "$TMP/out"
check "list --json has priority and base_score" sh -c "grep -q '\"priority\"' '$TMP/out' && grep -q '\"base_score\": 7.8' '$TMP/out'"
expect_exit 0 tt cve list --kernel k1 --status affected
check "--status filters" sh -c "grep -q CVE-2024-1001 '$TMP/out' && ! grep -q CVE-2024-1002 '$TMP/out'"
expect_exit 64 tt cve list --kernel k1 --status bogus
expect_exit 1 tt cve list --kernel nosuch
err_has "no kernel 'nosuch'"

# Debian: 6.1.0-56-amd64 is 6.1.60 by /proc/version
printf 'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.60-1 (2024-01-01)\n' >"$TMP/proc-version"
expect_exit 0 tt kernel add deb --release 6.1.0-56-amd64 --proc-version "$TMP/proc-version" --config "$TMP/config" --source "$K"
expect_exit 0 tt kernel show deb
check "debian mapping shown" grep -q 'version:    6.1.60 (mapping: debian (/proc/version))' "$TMP/out"
check "fixed on its branch" [ "$(status_of deb CVE-2024-1001)" = fixed ]
check "backport fix" [ "$(status_of deb CVE-2024-1005)" = fixed ]
expect_exit 0 tt --json cve show CVE-2024-1001
check "show lists verdicts per kernel" sh -c "grep -q '\"kernel\": \"deb\"' '$TMP/out' && grep -q '\"status\": \"fixed\"' '$TMP/out'"
expect_exit 0 tt fleet summary
check "summary counts" grep -q '^k1 .* 6.1.40 .* 2 .* 1 .* 0 .* 1 .* 1 .* 5$' "$TMP/out"
expect_exit 0 tt --json fleet summary
check "summary json" grep -q '"not-compiled": 1' "$TMP/out"

# import-running from a fake root
F="$TMP/root"
mkdir -p "$F/proc/sys/kernel" "$F/boot"
echo 6.1.0-56-amd64 >"$F/proc/sys/kernel/osrelease"
cp "$TMP/proc-version" "$F/proc/version"
cp "$TMP/config" "$F/boot/config-6.1.0-56-amd64"
expect_exit 0 tt kernel import-running --root "$F" --source "$K"
expect_exit 0 tt kernel show 6.1.0-56-amd64
check "import-running maps Debian" grep -q 'version:    6.1.60 (mapping: debian' "$TMP/out"
gzip -c "$TMP/config" >"$F/proc/config.gz"; rm "$F/boot/config-6.1.0-56-amd64"
expect_exit 0 tt kernel import-running running2 --root "$F" --source "$K"
rm "$F/proc/config.gz"
expect_exit 1 tt kernel import-running running3 --root "$F" --source "$K"
err_has "no kernel config"

# ---- bad input: one-line errors, nothing stored ----
tt --json kernel list >"$TMP/before"
printf 'hello world\nthis is not a config\n' >"$TMP/notconfig"
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/notconfig" --source "$K"
one_line_error
err_has "notconfig"
mkdir -p "$TMP/notatree"; echo 'all:' >"$TMP/notatree/Makefile"
expect_exit 1 tt kernel add bad --release 6.1.40 --config "$TMP/config" --source "$TMP/notatree"
one_line_error
err_has "is not a kernel source tree"
expect_exit 1 tt kernel add bad --release banana --config "$TMP/config" --source "$K"
one_line_error
err_has "'banana' is not a kernel version"
expect_exit 1 tt kernel add bad --release 6.1.0-56-amd64 --config "$TMP/config" --source "$K"
one_line_error
err_has "distribution ABI name"
expect_exit 1 tt kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K"
err_has "already in the inventory"
expect_exit 64 tt kernel add bad --release 6.1.40 --config "$TMP/config"
tt --json kernel list >"$TMP/after"
check "nothing half-stored" cmp -s "$TMP/before" "$TMP/after"

# ---- a sync bringing new records refreshes verdicts ----
record CVE-2024-1006 '["net/core/dev.c"]' "5.10:$BASE:0:0\n"
fixture_vulns_commit "$R" two
expect_exit 0 tt cve sync
check "new record has verdicts" [ "$(status_of k1 CVE-2024-1006)" = affected ]
# --replace changes a kernel and its verdicts
expect_exit 0 tt kernel add k1 --replace --release 6.1.60 --config "$TMP/config" --source "$K"
check "replaced kernel re-judged" [ "$(status_of k1 CVE-2024-1001)" = fixed ]

# ---- cve patch ----
expect_exit 1 tt kernel add k65 --release 6.5.3 --config "$TMP/config" --source "$K"
err_has "the source '$K' is 6.1.40 but release 6.5.3 is 6.5.3"
expect_exit 0 tt kernel add k65 --release 6.5.3 --config "$TMP/config" --source "$K" --allow-source-mismatch
# k1 is 6.1.60 now: fixed, so the fix is refused without --force
expect_exit 1 tt cve patch CVE-2024-1001 --kernel k1 --linux-repo "$L" -o "$TMP/p61.patch"
err_has "kernel 'k1' is fixed for CVE-2024-1001"
check "nothing written for a fixed kernel" [ ! -e "$TMP/p61.patch" ]
expect_exit 0 tt cve patch CVE-2024-1001 --kernel k1 --linux-repo "$L" -o "$TMP/p61.patch" --force
check "stable-branch fix, first commit" grep -q "^From $FIX_61 " "$TMP/p61.patch"
check "stable-branch fix, second commit" grep -q "^From $FIX_61B " "$TMP/p61.patch"
check "numbered series" grep -q '^Subject: \[PATCH 1/2\] net: fix dev (6.1 backport)' "$TMP/p61.patch"
check "in order" sh -c "grep -n '^From [0-9a-f]' '$TMP/p61.patch' | head -1 | grep -q $FIX_61"
expect_exit 0 tt cve patch CVE-2024-1001 --kernel k65 --linux-repo "$L" --force
check "mainline fix" grep -q "^From $FIX_MAIN " "$TMP/out"
check "mail headers" sh -c "grep -q '^From: Kernel Dev <dev@example.org>' '$TMP/out' && grep -q '^Subject: \[PATCH\] net: fix dev' '$TMP/out'"
check "commit message" grep -q 'The bug let anyone in.' "$TMP/out"
check "diff" grep -q '^+	return 1;' "$TMP/out"
check "applies with git am" sh -c "git -C '$L' checkout -q -b am-test '$BASE' && git -C '$L' am -q '$TMP/out' && git -C '$L' diff --quiet '$FIX_MAIN' HEAD -- net/core/dev.c"
expect_exit 1 tt cve patch CVE-2024-1002 --kernel k1 --linux-repo "$L" --force
one_line_error
err_has "commit $MISSING .* is not in '$L'"
expect_exit 1 tt cve patch CVE-2024-1001 --kernel k1 --linux-repo "$TMP/notatree" --force
err_has "is not a git repository"
expect_exit 64 tt cve patch CVE-2024-1001 --linux-repo "$L"

# ---- rm ----
expect_exit 0 tt kernel rm deb
expect_exit 1 tt kernel show deb
err_has "no kernel 'deb'"
expect_exit 1 tt kernel rm deb
check "verdicts gone with the kernel" [ "$(sqlite3 "$DB" "SELECT count(*) FROM verdict v LEFT JOIN kernel k ON k.id = v.kernel_id WHERE k.id IS NULL")" = 0 ]

finish
