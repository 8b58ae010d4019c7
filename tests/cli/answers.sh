#!/bin/sh
# No silent answers (issue 13): a score filter never drops an unscored known-exploited CVE
# unnoticed; publication dates come from the vulns history; a source of another branch than
# the release is refused; the config is stored, not a path; a distribution changelog's fixes
# count; cve patch refuses a kernel that is not affected (kernel.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../helpers/fixtures.sh"

DB="$TMP/db/t.db"
tt() { "$TUXTAPE" --db "$DB" "$@"; }

# ---- a tiny 6.1.40 kernel tree ----
K="$TMP/linux"
fixture_kernel_tree "$K"
fixture_kernel_config "$TMP/config"

# ---- a vulns repository with two dated commits ----
R="$TMP/vulns"
fixture_vulns "$R"
record() { # record ID SCORED(yes|no): a fix commit in its .dyad and its .sha1
    m=-; [ "$2" = no ] || m=$(fixture_cvss)
    fixture_cve_record "$R" "$1" '["net/core/dev.c"]' \
        '5.10:1111111111111111111111111111111111111111:6.2:2222222222222222222222222222222222222222\n' "$m"
    echo 2222222222222222222222222222222222222222 >"$R/cve/published/2024/$1.sha1"
}
record CVE-2024-2001 yes
record CVE-2024-2002 no
fixture_vulns_commit "$R" one 2024-02-01T12:00:00+0000
record CVE-2024-2003 no
fixture_vulns_commit "$R" two 2024-03-01T23:30:00-0500
expect_exit 0 tt cve sync --repo "$R"

# ---- dates from the history, the source named ----
expect_exit 0 tt --json cve show CVE-2024-2001
check "first commit's date" python3 -c "
import json; o=json.load(open('$TMP/out'))
assert o['published'] == '2024-02-01' and o['date_source'] == 'vulns-history', o"
expect_exit 0 tt --json cve show cve-2024-2003
check "lower-case id found; the commit's own time zone" python3 -c "
import json; o=json.load(open('$TMP/out'))
assert o['id'] == 'CVE-2024-2003' and o['published'] == '2024-03-01', o"
expect_exit 0 tt cve show CVE-2024-2003
check "text names the source" grep -q 'published:  2024-03-01 (the vulns commit that first added' "$TMP/out"
expect_exit 0 tt --json cve list --since 2024-02-15
check "--since selects by history date" python3 -c "
import json; a=json.load(open('$TMP/out')); assert [x['id'] for x in a] == ['CVE-2024-2003'], a"
# a later sync does not move a date
record CVE-2024-2001 yes; echo >>"$R/cve/published/2024/CVE-2024-2001.json"
fixture_vulns_commit "$R" three 2024-05-01T12:00:00+0000
expect_exit 0 tt cve sync
expect_exit 0 tt --json cve show CVE-2024-2001
check "an updated record keeps its first date" grep -q '"published": "2024-02-01"' "$TMP/out"

# ---- a score filter with unscored known-exploited CVEs ----
cat >"$TMP/kev.json" <<'JSON'
{"title":"t","catalogVersion":"1","dateReleased":"2024-06-01T00:00:00.000Z","count":2,"vulnerabilities":[
{"cveID":"CVE-2024-2001","vendorProject":"Linux","product":"Kernel","vulnerabilityName":"a","dateAdded":"2024-06-01","shortDescription":"x","requiredAction":"y","dueDate":"2024-06-22","knownRansomwareCampaignUse":"Unknown","notes":"","cwes":[]},
{"cveID":"CVE-2024-2002","vendorProject":"Linux","product":"Kernel","vulnerabilityName":"b","dateAdded":"2024-06-01","shortDescription":"x","requiredAction":"y","dueDate":"2024-06-22","knownRansomwareCampaignUse":"Unknown","notes":"","cwes":[]}]}
JSON
expect_exit 0 tt cve enrich --kev "$TMP/kev.json"
expect_exit 0 tt cve list --min-score 7 --kev
check "the scored one listed" grep -q CVE-2024-2001 "$TMP/out"
err_has "1 CVE without a CVSS score left out, 1 of them known exploited (--unscored shows them)"
expect_exit 0 tt --json cve list --min-score 7 --kev --unscored
check "--unscored shows it, score null" python3 -c "
import json; a={x['id']: x for x in json.load(open('$TMP/out'))}
assert set(a) == {'CVE-2024-2001', 'CVE-2024-2002'} and a['CVE-2024-2002']['base_score'] is None, a"
expect_exit 0 tt cve list --severity high
err_has "2 CVEs without a CVSS score left out, 1 of them known exploited (--unscored shows them)"
check "severity filter" sh -c "grep -q CVE-2024-2001 '$TMP/out' && ! grep -q CVE-2024-2002 '$TMP/out'"
expect_exit 0 tt --json cve list --fix-commit 2222222
check "a short fix commit finds its CVEs" python3 -c "
import json; assert len(json.load(open('$TMP/out'))) == 3"
expect_exit 1 tt cve show CVE-2021-44228
err_has "no CVE 'CVE-2021-44228' in the kernel CNA's records"

# ---- a source of another branch than the release ----
F="$TMP/root"
mkdir -p "$F/proc/sys/kernel"
echo 6.18.44-fc-v1045 >"$F/proc/sys/kernel/osrelease"
echo 'Linux version 6.18.44-fc-v1045 (builder@sandboxing) #1 SMP' >"$F/proc/version"
gzip -c "$TMP/config" >"$F/proc/config.gz"
expect_exit 1 tt kernel import-running --root "$F" --source "$K"
err_has "the source '$K' is 6.1.40 but release 6.18.44-fc-v1045 is 6.18.44"
expect_exit 1 tt kernel add k618 --release 6.18.44 --config "$TMP/config" --source "$K"
err_has "is 6.1.40 but release 6.18.44 is 6.18.44 (use --allow-source-mismatch"
expect_exit 0 tt --json kernel list
check "nothing stored" [ "$(cat "$TMP/out")" = "[]" ]
expect_exit 0 tt kernel import-running run --root "$F" --source "$K" --allow-source-mismatch
expect_exit 0 tt --json kernel show run
check "config stored, its origin named, no temporary path" python3 -c "
import json; o=json.load(open('$TMP/out'))
assert o['config_origin'] == '$F/proc/config.gz' and o['config_lines'] == 2, o
assert o['source_version'] == '6.1.40', o"
check "the config text is in the database" [ "$(sqlite3 "$DB" "SELECT config FROM kernel WHERE name = 'run'")" = "$(cat "$TMP/config")" ]

# ---- a Debian changelog's fixes ----
cat >"$TMP/changelog" <<'EOF2'
linux-signed-amd64 (6.1.70+1) bookworm-security; urgency=high

  * Sign kernel from linux 6.1.70-1
  * net: fix a later one (CVE-2024-2003)

 -- Someone <someone@debian.org>  Mon, 01 Jan 2024 00:00:00 +0100

linux (6.1.60-1) bookworm-security; urgency=high

  * New upstream stable update:
    - net: fix dev (CVE-2024-2001)

 -- Someone <someone@debian.org>  Mon, 01 Dec 2023 00:00:00 +0100
EOF2
gzip -k "$TMP/changelog"
printf 'Linux version 6.1.0-15-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.60-1 (2023-12-01)\n' >"$TMP/pv"
expect_exit 0 tt kernel add deb --release 6.1.0-15-amd64 --proc-version "$TMP/pv" --config "$TMP/config" --source "$K" --changelog "$TMP/changelog.gz"
err_has "1 CVEs named as fixed by"
status() { tt --json cve list --kernel "$1" | python3 -c "import json,sys; print({e['id']: e['status']+'|'+e['reason'] for e in json.load(sys.stdin)}.get('$2'))"; }
s1=$(status deb CVE-2024-2001); s3=$(status deb CVE-2024-2003)
check "named up to the kernel's version: fixed, Debian version in the reason ($s1)" \
    sh -c "echo '$s1' | grep -q '^fixed|fixed in Debian 6.1.60-1 (the package changelog names it)'"
check "named only in a later version: still affected ($s3)" sh -c "echo '$s3' | grep -q '^affected|'"
finish
