#!/bin/sh
# The daily loop: cve sync ends with what changed per kernel (newly affected, newly fixed,
# newly known exploited), triage hides decided findings from list and check, and check's
# exit status says whether untriaged affected CVEs reach a threshold.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../helpers/fixtures.sh"

DB="$TMP/db/t.db"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
jq_py() { python3 -c "import json,sys; d=json.load(open('$TMP/out')); $1"; }

# ---- a tiny kernel tree: net/core/dev.c built in, drivers/foo.c a module ----
K="$TMP/linux"
fixture_kernel_tree "$K" module
fixture_kernel_config "$TMP/config" CONFIG_FOO=m

C1=1111111111111111111111111111111111111111
C2=2222222222222222222222222222222222222222
R="$TMP/vulns"
fixture_vulns "$R"
record() { # record ID FILES DYAD-LINES [SCORE]
    fixture_cve_record "$R" "$1" "$2" "$3" "$(fixture_cvss "${4:-}")"
}
record CVE-2024-1001 '["net/core/dev.c"]' "5.10:$C1:6.2:$C2\n"
record CVE-2024-1002 '["drivers/foo.c"]' "5.10:$C1:6.2:$C2\n"
record CVE-2024-1003 '["net/core/dev.c"]' "5.10:$C1:6.1.50:$C2\n5.10:$C1:6.2:$C2\n"
fixture_vulns_commit "$R" one
expect_exit 0 tt cve sync --repo "$R"
expect_exit 0 tt kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K"

# ---- the first report of a kernel is a baseline ----
expect_exit 0 tt --json cve sync
check "sync --json has schema_version and kernels" jq_py "assert d['schema_version'] == 2 and d['kernels'][0]['kernel'] == 'k1'"
check "first report: a baseline with 3 affected, nothing listed" jq_py "
k = d['kernels'][0]; assert k['baseline'] is True and k['affected'] == 3 and k['untriaged'] == 3, k
assert k['newly_affected'] == [] and k['newly_fixed'] == [] and k['newly_kev'] == []"
expect_exit 0 tt cve sync
check "text: no change" grep -q '^kernel k1: no change (3 affected, 3 untriaged)' "$TMP/out"

# ---- a new record, a record that now says 6.1.40 is fixed ----
record CVE-2024-1004 '["drivers/foo.c"]' "5.10:$C1:6.2:$C2\n" 9.8
record CVE-2024-1003 '["net/core/dev.c"]' "5.10:$C1:6.1.39:$C2\n5.10:$C1:6.2:$C2\n"
fixture_vulns_commit "$R" two
expect_exit 0 tt --json cve sync
check "newly affected: CVE-2024-1004" jq_py "
k = d['kernels'][0]; assert [e['id'] for e in k['newly_affected']] == ['CVE-2024-1004'], k
e = k['newly_affected'][0]; assert e['base_score'] == 9.8 and e['kev'] is False and e['triaged'] is False, e"
check "newly fixed: CVE-2024-1003, status fixed" jq_py "
k = d['kernels'][0]; assert k['newly_fixed'] == [{'id': 'CVE-2024-1003', 'status': 'fixed'}], k"
expect_exit 0 tt --json cve sync
check "reported once: the next sync has no change" jq_py "
k = d['kernels'][0]; assert not (k['newly_affected'] or k['newly_fixed'] or k['newly_kev']), k"

# ---- a CVE becomes known exploited (enrich between two syncs) ----
cat >"$TMP/kev.json" <<'JSON'
{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.01.01",
 "dateReleased": "2026-01-01T00:00:00.000Z", "count": 1, "vulnerabilities": [
 {"cveID": "CVE-2024-1001", "vendorProject": "Linux", "product": "Kernel",
  "vulnerabilityName": "Linux Kernel bug", "dateAdded": "2026-01-01",
  "shortDescription": "x", "requiredAction": "patch", "dueDate": "2026-01-22",
  "knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": []}]}
JSON
expect_exit 0 tt cve enrich --kev "$TMP/kev.json"
expect_exit 0 tt cve sync
check "text: newly known exploited" grep -q '^  newly known exploited (1): CVE-2024-1001' "$TMP/out"

# ---- check: untriaged affected CVEs at or above a threshold ----
expect_exit 5 tt check
check "check lists the kernel's findings" grep -q '^k1: 3 untriaged affected CVEs' "$TMP/out"
expect_exit 5 tt check --kev
expect_exit 5 tt check --min-score 9
check "--min-score 9: only CVE-2024-1004" grep -q '^k1: 1 untriaged affected CVEs: CVE-2024-1004$' "$TMP/out"
expect_exit 0 tt check --min-score 9.9
expect_exit 64 tt check --min-score eleven
expect_exit 1 tt check --kernel nosuch

# ---- triage ----
expect_exit 64 tt triage set CVE-2024-1001 --kernel k1 --state maybe
expect_exit 64 tt triage set CVE-2024-1001 --state accepted
expect_exit 1 tt triage set CVE-2024-1001 --kernel nosuch --state accepted
err_has "no kernel 'nosuch'"
expect_exit 1 tt triage set CVE-2024-9999 --kernel k1 --state accepted
expect_exit 1 tt triage set CVE-2024-1001 --kernel k1 --state accepted --expires 2001-01-01
err_has "in the past"
expect_exit 1 tt triage set CVE-2024-1001 --kernel k1 --state accepted --expires 2030-02-30
err_has "not a date"
USER=alice expect_exit 0 tt triage set cve-2024-1001 --kernel k1 --state accepted --note "behind a firewall" --expires 2099-12-31
expect_exit 0 tt triage set CVE-2024-1004 --kernel k1 --state will-patch --by bob
expect_exit 0 tt --json triage list
check "triage list --json" jq_py "
t = {e['id']: e for e in d['decisions']}; assert d['schema_version'] == 2
a = t['CVE-2024-1001']; assert (a['state'], a['who'], a['note'], a['expires'], a['status'], a['expired']) == ('accepted-risk', 'alice', 'behind a firewall', '2099-12-31', 'affected', False), a
assert t['CVE-2024-1004']['who'] == 'bob'"
expect_exit 0 tt cve list --kernel k1
check "list hides triaged CVEs" sh -c "! grep -q 'CVE-2024-1001\|CVE-2024-1004' '$TMP/out' && grep -q CVE-2024-1002 '$TMP/out'"
err_has "2 triaged CVEs left out (--triaged shows them)"
expect_exit 0 tt --json cve list --kernel k1 --triaged
check "--triaged shows them with their triage" jq_py "
t = {e['id']: e['triage'] for e in d}; assert t['CVE-2024-1001']['state'] == 'accepted-risk' and t['CVE-2024-1002'] is None, t"
expect_exit 0 tt cve show CVE-2024-1001
check "show says the triage" grep -q 'triaged accepted-risk by alice until 2099-12-31' "$TMP/out"
expect_exit 5 tt check
check "check counts only untriaged" grep -q '^k1: 1 untriaged affected CVEs: CVE-2024-1002$' "$TMP/out"
expect_exit 0 tt check --kev
expect_exit 0 tt check --min-score 9
# An expired decision no longer hides a finding.
sqlite3 "$DB" "UPDATE triage SET expires = '2001-01-01' WHERE cve_id = 'CVE-2024-1004'"
expect_exit 5 tt check --min-score 9
expect_exit 0 tt triage list
check "expired decisions are not listed by default" sh -c "! grep -q CVE-2024-1004 '$TMP/out'"
expect_exit 0 tt triage list --expired
check "--expired lists them, marked" grep -q 'CVE-2024-1004 .*(expired)' "$TMP/out"
expect_exit 0 tt triage clear CVE-2024-1001 --kernel k1
expect_exit 1 tt triage clear CVE-2024-1001 --kernel k1
err_has "has no triage"
expect_exit 5 tt check --kev
for c in set list clear; do expect_exit 0 tt triage $c --help; done
expect_exit 0 tt check --help

# ---- a version-only question, no kernel registered (the CNA's strak) ----
ids() { python3 -c "import json; print(' '.join(e['id'] for e in json.load(open('$TMP/out'))['cves']))"; }
expect_exit 0 tt --json cve version 6.1.38
check "6.1.38: all four vulnerable" [ "$(ids)" = "CVE-2024-1001 CVE-2024-1002 CVE-2024-1003 CVE-2024-1004" ]
check "version --json shape" jq_py "assert d['schema_version'] == 2 and d['version'] == '6.1.38' and d['question'] == 'vulnerable' and d['cves'][0]['version_state'] == 'vulnerable'"
expect_exit 0 tt --json cve version 6.1.39
check "6.1.39: CVE-2024-1003 no longer vulnerable" [ "$(ids)" = "CVE-2024-1001 CVE-2024-1002 CVE-2024-1004" ]
expect_exit 0 tt --json cve version 6.1.39 --fixed
check "6.1.39 --fixed" [ "$(ids)" = "CVE-2024-1003" ]
expect_exit 0 tt --json cve version 6.1.39 --fixed-in
check "6.1.39 --fixed-in: what the step from 6.1.38 fixed" [ "$(ids)" = "CVE-2024-1003" ]
expect_exit 0 tt --json cve version 6.1.45 --fixed-in
check "6.1.45 --fixed-in: nothing" [ "$(ids)" = "" ]
expect_exit 0 tt --json cve version 6.2 --fixed
check "6.2 carries every fix" [ "$(ids)" = "CVE-2024-1001 CVE-2024-1002 CVE-2024-1003 CVE-2024-1004" ]
expect_exit 0 tt --json cve version 5.4
check "5.4: nothing vulnerable (introduced in 5.10)" [ "$(ids)" = "" ]
expect_exit 0 tt cve version 6.1.39 --format csv
check "csv: a header and one row per CVE" sh -c "head -1 '$TMP/out' | grep -q '^id,version_state,reason' && [ \$(wc -l <'$TMP/out') = 4 ]"
expect_exit 64 tt cve version six
expect_exit 0 tt cve list --kernel k1 --format csv --triaged
check "cve list --format csv" sh -c "head -1 '$TMP/out' | grep -q '^id,priority,base_score,severity,kev,epss,published,date_source,title,kernel,status,reason,triage.state' && grep -q '^CVE-2024-1003,.*,k1,fixed,fixed in 6.1.39' '$TMP/out'"
expect_exit 0 tt triage list --format csv
expect_exit 0 tt kernel list --format csv
check "kernel list --format csv" grep -q '^k1,6.1.40,6.1.40,' "$TMP/out"
expect_exit 0 tt fleet summary --format csv
check "fleet summary --format csv" grep -q '^k1,6.1.40,6.1.40,' "$TMP/out"
expect_exit 64 tt kernel list --format xml

# ---- the systemd units meson installs: the service runs the sync, the timer starts it ----
U="${BUILDDIR:-}/systemd/tuxtape-sync.service"
if [ -f "$U" ]; then
    check "service runs tuxtape cve sync" grep -q '^ExecStart=/.*/tuxtape cve sync$' "$U"
    check "service: skipped records are not a failure" grep -q '^SuccessExitStatus=4$' "$U"
    check "timer: daily, persistent" sh -c "grep -q '^OnCalendar=daily' '$SRCDIR/systemd/tuxtape-sync.timer' && grep -q '^Persistent=true' '$SRCDIR/systemd/tuxtape-sync.timer'"
fi
finish
