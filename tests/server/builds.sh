#!/bin/sh
# The workflow's other doors, on a tiny kernel tree, CVE repository and linux git repository
# the test builds: POST /v1/patches from a CVE's raw fix (fix_kernel, --linux-repo),
# POST /v1/builds (elivepatch's ad hoc build, leased with its config and symbols), malformed
# and oversized workflow bodies (400/413, nothing stored), and GET /v1/cves answering a
# `tuxtape cve sync` of another process at once (the response cache).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../helpers/fixtures.sh"
command -v git >/dev/null || { echo "SKIP: git is not installed"; exit 77; }

DB="$TMP/db/t.db"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
SERVER_BIN=$TUXTAPE_SERVER
srv() { "$SERVER_BIN" --db "$DB" "$@"; }
make_certs

# ---- a tiny kernel tree the static evaluator reads ----
K="$TMP/linux"
fixture_kernel_tree "$K"
fixture_kernel_config "$TMP/config"

# ---- a linux repository: a mainline fix and its 6.1 backport ----
L="$TMP/linux-git"
fixture_linux_git "$L" 1 2

# ---- a CVE repository ----
R="$TMP/vulns"
fixture_vulns "$R"
record() { # record ID DYAD-LINES
    fixture_cve_record "$R" "$1" '["net/core/dev.c"]' "$2"
}
record CVE-2024-1001 "5.10:$BASE:6.1.50:$FIX_61\n5.10:$BASE:6.2:$FIX_MAIN\n"
record CVE-2024-1002 "5.10:$BASE:6.2:0123456789abcdef0123456789abcdef01234567\n"
record CVE-2024-1009 "5.10:$BASE:6.1.30:$FIX_61\n5.10:$BASE:6.2:$FIX_MAIN\n"
fixture_vulns_commit "$R" one
expect_exit 0 tt cve sync --repo "$R"
expect_exit 0 tt kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K"

for n in author-1 reviewer-1 builder-1 admin-1 viewer-1; do
    srv token create --role "${n%-*}" "$n" >"$TMP/$n.token" 2>/dev/null || { fail "token $n"; exit 1; }
done
TOKEN_author=$(cat "$TMP/author-1.token"); TOKEN_reviewer=$(cat "$TMP/reviewer-1.token")
TOKEN_builder=$(cat "$TMP/builder-1.token"); TOKEN_admin=$(cat "$TMP/admin-1.token")
TOKEN_viewer=$(cat "$TMP/viewer-1.token")
post() { # post ROLE PATH BODY-FILE
    api "$2" -X POST -H "$(as "$1")" -H 'Content-Type: application/json' --data-binary "@$3"
}
# one worker thread: every request meets the same connection and the same response cache
# an archive to publish into, for the exposure of a node running a withdrawn module (below)
expect_exit 0 tt archive init "$TMP/archive"
start_server "$TMP/server.log" --db "$DB" --linux-repo "$L" --max-body 65536 --threads 1 \
    --archive "$TMP/archive" --allow-untested

# ---- a patch from the raw fix: the 6.1 backport for k1 ----
printf '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "fix_kernel": "k1"}' >"$TMP/b"
post author /v1/patches "$TMP/b"
expect_status 201 "a patch from the raw fix"
body_has '"note": "the raw fix (tuxtape cve patch)"'
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body")
api "/v1/patches/$ID/patch" -H "$(as viewer)"
expect_status 200 "its text"
body_has "From $FIX_61 "
body_has "+	return 2;"
check "not the mainline fix" sh -c "! grep -q '$FIX_MAIN' '$TMP/body'"
printf '{"cve": "CVE-2024-1002", "kernels": ["6.1.40"], "fix_kernel": "k1"}' >"$TMP/b"
post author /v1/patches "$TMP/b"
expect_status 404 "a fix commit the repository lacks" ||:
body_has "is not in"
printf '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "fix_kernel": "nosuch"}' >"$TMP/b"
post author /v1/patches "$TMP/b"
body_has "no kernel 'nosuch'"
# a kernel whose verdict says it needs no fix (6.1.40 has CVE-2024-1009's 6.1.30 fix): refused
# as tuxtape cve patch refuses it, nothing stored, unless forced
api /v1/patches -H "$(as viewer)"; npatches=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/body")
printf '{"cve": "CVE-2024-1009", "kernels": ["6.1.40"], "fix_kernel": "k1"}' >"$TMP/b"
post author /v1/patches "$TMP/b"
expect_status 409 "a raw fix for a kernel that is fixed" ||:
body_has "kernel 'k1' is fixed for CVE-2024-1009"
api /v1/patches -H "$(as viewer)"
check "the refused patch is not stored" [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/body")" = "$npatches" ]
printf '{"cve": "CVE-2024-1009", "kernels": ["6.1.40"], "fix_kernel": "k1", "force": true}' >"$TMP/b"
post author /v1/patches "$TMP/b"
expect_status 201 "forced: the raw fix all the same"
# the client command
export TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$TMP/pki/ca.pem"
expect_exit 0 "$TUXTAPE" --json patch create --cve CVE-2024-1001 --kernel 6.1.40 --fix-kernel k1 --token-file "$TMP/author-1.token"
check "tuxtape patch create --fix-kernel" grep -q '"state": "draft"' "$TMP/out"
expect_exit 1 "$TUXTAPE" patch create --cve CVE-2024-1009 --kernel 6.1.40 --fix-kernel k1 --token-file "$TMP/author-1.token"
err_has "kernel 'k1' is fixed for CVE-2024-1009"
expect_exit 0 "$TUXTAPE" --json patch create --cve CVE-2024-1009 --kernel 6.1.40 --fix-kernel k1 --force --token-file "$TMP/author-1.token"

# ---- POST /v1/builds: an ad hoc build, for a kernel not in the inventory ----
printf 'T start_kernel\n' >"$TMP/syms"
python3 - "$SRCDIR/tests/livepatch/patches/a-static-helper.patch" >"$TMP/b" <<'PY'
import json, sys
print(json.dumps({"kernel": "6.1.99-adhoc", "config": "CONFIG_X86_64=y\nCONFIG_LIVEPATCH=y\n",
                  "symbols": "ffffffff81000000 T start_kernel\n", "patches": [open(sys.argv[1]).read()]}))
PY
post author /v1/builds "$TMP/b"
expect_status 201 "an ad hoc build"
JOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body")
post reviewer /v1/builds "$TMP/b"
expect_status 403 "only an author asks for builds"
api "/v1/jobs/$JOB" -H "$(as viewer)"
expect_status 200 "the job"
body_has '"kind": "adhoc"'
body_has '"state": "queued"'
body_has '"kernel": "6.1.99-adhoc"'
printf '{"kernels": ["6.1.40"]}' >"$TMP/l"
post builder /v1/jobs/lease "$TMP/l"
check "a builder of another kernel gets nothing" python3 -c "
import json,sys; a=json.load(open('$TMP/body')); assert a.get('job') is None, a"
printf '{"kernels": ["6.1.99-adhoc"]}' >"$TMP/l"
post builder /v1/jobs/lease "$TMP/l"
expect_status 200 "the lease"
check "the leased job carries the request's config, symbols and patch" python3 -c "
import json; j=json.load(open('$TMP/body'))['job']
assert j['id'] == $JOB and 'CONFIG_LIVEPATCH=y' in j['config'], j
assert j['symbols'].endswith('T start_kernel\n') and len(j['patches']) == 1, j
assert '+++ ' in j['patches'][0], j"
printf '{"build": "error", "error": "no source for 6.1.99"}' >"$TMP/r"
post builder "/v1/jobs/$JOB/result" "$TMP/r"
expect_status 200 "the result"
api "/v1/jobs/$JOB" -H "$(as viewer)"
body_has '"state": "failed"'
for bad in '{"kernel": "not a release", "config": "CONFIG_X=y", "patches": ["--- a\n+++ b\n"]}' \
           '{"kernel": "6.1.99", "config": "no config here", "patches": ["--- a\n+++ b\n"]}' \
           '{"kernel": "6.1.99", "config": "CONFIG_X=y", "patches": []}' \
           '{"kernel": "6.1.99", "config": "CONFIG_X=y", "patches": ["not a diff"]}' \
           '{"kernel": "6.1.99", "config": "CONFIG_X=y", "patches": "--- a\n+++ b\n"}' \
           '{"kernel": "6.1.99", "config": "CONFIG_X=y"}'; do
    printf '%s' "$bad" >"$TMP/b"
    post author /v1/builds "$TMP/b"
    expect_status 400 "a bad build request: $bad"
done

# ---- malformed and oversized workflow bodies: 400 or 413, nothing stored ----
audit_count() { sqlite3 "$TMP/db/server.db" "SELECT count(*) FROM audit"; }
jobs_count() { sqlite3 "$TMP/db/server.db" "SELECT count(*) FROM job"; }
patches_count() { sqlite3 "$TMP/db/server.db" "SELECT count(*) FROM patch"; }
A0=$(audit_count); J0=$(jobs_count); P0=$(patches_count)
DIFF='--- a/x\n+++ b/x\n'
for bad in '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "'"$DIFF"'"' \
           '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "'"$DIFF"'", "patch": "x"}' \
           '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "'"$DIFF"'", "owner": "me"}' \
           '{"cve": "CVE-2024-1001", "kernels": "6.1.40", "patch": "'"$DIFF"'"}' \
           '{"cve": "CVE-2024-1001", "kernels": [], "patch": "'"$DIFF"'"}' \
           '{"cve": "not-a-cve", "kernels": ["6.1.40"], "patch": "'"$DIFF"'"}' \
           '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "'"$DIFF"'", "fix_kernel": "k1"}' \
           '{"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "no diff"}' \
           '[1, 2]' '' '{"cve": "CVE-2024-1001\u0000", "kernels": ["6.1.40"], "patch": "'"$DIFF"'"}'; do
    printf '%s' "$bad" >"$TMP/b"
    post author /v1/patches "$TMP/b"
    expect_status 400 "a bad patch body: $bad"
done
python3 -c 'import json; print(json.dumps({"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "--- a/x\n+++ b/x\n" + "+" * 70000}))' >"$TMP/big"
post author /v1/patches "$TMP/big"
expect_status 413 "a body over --max-body"
STATUS=$(curl -s --max-time 20 --cacert "$TMP/pki/ca.pem" -o "$TMP/body" -w '%{http_code}' \
    -H "$(as author)" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary "@$TMP/big" "https://127.0.0.1:$PORT/v1/patches") || STATUS=curl-failed
expect_status 413 "a chunked body that grows past --max-body"
printf '{"verdict": "comment", "comment": "%s"}' "$(head -c 9000 /dev/zero | tr '\0' x)" >"$TMP/b"
post reviewer "/v1/patches/$ID/reviews" "$TMP/b"
expect_status 400 "a comment over 8 KiB"
for bad in '{"verdict": "maybe"}' '{"verdict": "approve", "extra": 1}' '{"verdict": 1}'; do
    printf '%s' "$bad" >"$TMP/b"
    post reviewer "/v1/patches/$ID/reviews" "$TMP/b"
    expect_status 400 "a bad review: $bad"
done
printf '{"channel": "stable", "x": 1}' >"$TMP/b"
api "/v1/patches/$ID/submit" -X POST -H "$(as author)" -H 'Content-Type: text/plain' --data-binary "@$TMP/b"
expect_status 415 "a body that is not JSON"
for bad in '{"build": "built"}' '{"build": "written", "boot": "maybe"}' '{"kernels": ["x"]}'; do
    printf '%s' "$bad" >"$TMP/b"
    post builder "/v1/jobs/$JOB/result" "$TMP/b"
    check "a bad result is refused: $bad" sh -c "[ '$STATUS' -ge 400 ] && [ '$STATUS' -lt 500 ]"
done
check "nothing stored: audit" [ "$(audit_count)" = "$A0" ]
check "nothing stored: jobs" [ "$(jobs_count)" = "$J0" ]
check "nothing stored: patches" [ "$(patches_count)" = "$P0" ]
check "nothing stored: reviews" [ "$(sqlite3 "$TMP/db/server.db" 'SELECT count(*) FROM review')" = 0 ]

# ---- a written build's module is checked on upload: ELF, .modinfo, name, livepatch, kernel ----
# mk_ko OUT MODINFO-ENTRIES... : a relocatable object with that .modinfo, as modpost leaves it
mk_ko() {
    out=$1; shift
    [ -f "$TMP/ko-base.o" ] || echo 'int tt_fn(void) { return 1; }' | ${CC:-cc} -c -x c - -o "$TMP/ko-base.o"
    for e in "$@"; do printf '%s\0' "$e"; done >"$TMP/modinfo.bin"
    objcopy --add-section .modinfo="$TMP/modinfo.bin" --set-section-flags .modinfo=alloc,readonly \
        "$TMP/ko-base.o" "$out"
}
result() { # result KO-FILE MODULE-NAME : the job's result with that module
    python3 -c 'import base64, json, sys; print(json.dumps({"build": "written", "boot": "skipped",
        "module_name": sys.argv[2], "module": base64.b64encode(open(sys.argv[1], "rb").read()).decode()}))' "$1" "$2" >"$TMP/r"
    post builder "/v1/jobs/$JOB2/result" "$TMP/r"
}
python3 - "$SRCDIR/tests/livepatch/patches/a-static-helper.patch" >"$TMP/b" <<'PY2'
import json, sys
print(json.dumps({"kernel": "6.1.98-ko", "config": "CONFIG_X86_64=y\nCONFIG_LIVEPATCH=y\n",
                  "symbols": "ffffffff81000000 T start_kernel\n", "patches": [open(sys.argv[1]).read()]}))
PY2
post author /v1/builds "$TMP/b"
expect_status 201 "a build whose module is checked"
JOB2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body")
printf '{"kernels": ["6.1.98-ko"]}' >"$TMP/l"
post builder /v1/jobs/lease "$TMP/l"
check "leased" python3 -c "import json; assert json.load(open('$TMP/body'))['job']['id'] == $JOB2"
VM='vermagic=6.1.98-ko SMP preempt mod_unload modversions '
head -c 4096 /dev/urandom >"$TMP/junk.ko"
mk_ko "$TMP/nomodinfo.ko"; objcopy --remove-section .modinfo "$TMP/nomodinfo.ko"
${CC:-cc} -o "$TMP/exec.ko" -x c - <<'C'
int main(void) { return 0; }
C
mk_ko "$TMP/nolp.ko" name=tt_job "$VM" license=GPL
mk_ko "$TMP/othername.ko" name=other livepatch=Y "$VM"
mk_ko "$TMP/novermagic.ko" name=tt_job livepatch=Y
mk_ko "$TMP/otherkernel.ko" name=tt_job livepatch=Y 'vermagic=6.1.40 SMP preempt mod_unload '
mk_ko "$TMP/twice.ko" name=tt_job name=tt_job livepatch=Y "$VM"
A0=$(audit_count)
for bad in "junk.ko:not a kernel module" "exec.ko:not a kernel module" \
           "nomodinfo.ko:has no .modinfo section" "nolp.ko:no livepatch=Y" \
           "othername.ko:names the module 'other', not 'tt_job'" "novermagic.ko:has no vermagic" \
           "otherkernel.ko:built for kernel '6.1.40'" "twice.ko:has 'name' twice"; do
    result "$TMP/${bad%%:*}" tt_job.ko
    expect_status 400 "a bad module: ${bad%%:*}"
    body_has "${bad#*:}"
    body_has "module 'tt_job.ko' of job $JOB2"
done
ls "$TMP/db/artifacts/jobs/$JOB2/" >"$TMP/files0"
check "bad modules: nothing stored" sh -c "! grep -q 'ko\$' '$TMP/files0'"
check "bad modules: nothing audited" [ "$(audit_count)" = "$A0" ]
api "/v1/jobs/$JOB2" -H "$(as viewer)"
body_has '"state": "running"'
mk_ko "$TMP/good.ko" name=tt_job livepatch=Y "$VM" license=GPL
result "$TMP/good.ko" tt_job.ko
expect_status 200 "the job's own module"
body_has '"state": "done"'
check "the module stored as uploaded" cmp -s "$TMP/good.ko" "$TMP/db/artifacts/jobs/$JOB2/tt_job.ko"

# ---- a rejected patch's jobs are cancelled: no builder leases them ----
patch_for() { # patch_for KERNEL : a submitted patch for KERNEL, its id in $PID_
    python3 -c 'import json,sys; print(json.dumps({"cve": "CVE-2024-1001", "kernels": [sys.argv[1]], "patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"}))' "$1" >"$TMP/b"
    post author /v1/patches "$TMP/b"
    expect_status 201 "a patch for $1"
    PID_=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body")
    printf '{}' >"$TMP/b"
    post author "/v1/patches/$PID_/submit" "$TMP/b"
    expect_status 200 "submitted for $1"
}
reject() {
    printf '{"verdict": "reject", "comment": "wrong fix"}' >"$TMP/b"
    post reviewer "/v1/patches/$1/reviews" "$TMP/b"
    expect_status 201 "rejected"
}
job_state() { sqlite3 "$TMP/db/server.db" "SELECT state FROM job WHERE patch = $1"; }
lease_none() { # lease_none KERNEL DESCRIPTION
    printf '{"kernels": ["%s"]}' "$1" >"$TMP/l"
    post builder /v1/jobs/lease "$TMP/l"
    check "$2" python3 -c "import json; a=json.load(open('$TMP/body')); assert a.get('job') is None, a"
}
patch_for 6.1.97-rej
RJ=$PID_
check "a queued job" [ "$(job_state "$RJ")" = queued ]
reject "$RJ"
check "the rejected patch's job is cancelled" [ "$(job_state "$RJ")" = cancelled ]
lease_none 6.1.97-rej "a builder cannot lease a rejected patch's job"
patch_for 6.1.96-rej
RJ2=$PID_
printf '{"kernels": ["6.1.96-rej"]}' >"$TMP/l"
post builder /v1/jobs/lease "$TMP/l"
RJOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["id"])' "$TMP/body")
reject "$RJ2"
check "a running job of the rejected patch is cancelled" [ "$(job_state "$RJ2")" = cancelled ]
printf '{"build": "error", "error": "late"}' >"$TMP/r"
post builder "/v1/jobs/$RJOB/result" "$TMP/r"
expect_status 409 "its builder's result comes too late"
body_has "cancelled"
# a job left queued under a rejected patch (as before rejecting cancelled them) is not handed out
sqlite3 "$TMP/db/server.db" "UPDATE job SET state = 'queued', lease_owner = NULL, finished_at = NULL WHERE patch = $RJ"
lease_none 6.1.97-rej "a queued job of a rejected patch stays with the server"
# nor an older revision's, nor a draft's
patch_for 6.1.95-old
OLD=$PID_
python3 -c 'import json; print(json.dumps({"patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+c\n"}))' >"$TMP/b"
post author "/v1/patches/$OLD/revisions" "$TMP/b"
expect_status 201 "a second revision"
check "the first revision's job is cancelled" [ "$(job_state "$OLD")" = cancelled ]
sqlite3 "$TMP/db/server.db" "UPDATE job SET state = 'queued', finished_at = NULL WHERE patch = $OLD"
lease_none 6.1.95-old "a draft's older revision's job stays with the server"

# ---- the two-person rule compares persons, not token names ----
tok() { srv token create "$@" 2>/dev/null; }
TOKEN_carol_a=$(tok --role author --person carol carol-a)
TOKEN_carol_r=$(tok --role reviewer --person carol carol-r)
TOKEN_dave_1=$(tok --role reviewer --person dave dave-1)
TOKEN_dave_2=$(tok --role reviewer --person dave dave-2)
TOKEN_erin=$(tok --role reviewer erin)
expect_exit 1 srv token create --role reviewer --person 'no body' x
err_has "is not a usable person name"
expect_exit 0 srv --json token list
check "token list names persons, a token's own name by default" python3 -c "
import json; t={x['name']: x['person'] for x in json.load(open('$TMP/out'))}
assert t['carol-r'] == 'carol' and t['dave-2'] == 'dave' and t['erin'] == 'erin', t"
api /v1/whoami -H "$(as carol_r)"
body_has '"person": "carol"'
python3 -c 'import json; print(json.dumps({"cve": "CVE-2024-1001", "kernels": ["6.1.40"], "patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"}))' >"$TMP/b"
post carol_a /v1/patches "$TMP/b"
expect_status 201 "carol's patch"
CID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body")
printf '{}' >"$TMP/b"
post carol_a "/v1/patches/$CID/submit" "$TMP/b"
expect_status 200 "submitted"
printf '{"verdict": "approve"}' >"$TMP/b"
post carol_r "/v1/patches/$CID/reviews" "$TMP/b"
expect_status 403 "carol approving her own patch with her reviewer token"
body_has "'carol' wrote revision 1"
post dave_1 "/v1/patches/$CID/reviews" "$TMP/b"
expect_status 201 "dave approves"
post dave_2 "/v1/patches/$CID/reviews" "$TMP/b"
expect_status 409 "dave again, with his other token"
body_has "'dave' approved revision 1"
api "/v1/patches/$CID" -H "$(as viewer)"
check "one approval, by dave" python3 -c "
import json; a=json.load(open('$TMP/body'))['approvals']; assert a['count'] == 1 and a['by'] == ['dave'], a"
body_has '"author_person": "carol"'
body_has '"reviewer_person": "dave"'
check "the database refuses it too" sh -c "! sqlite3 '$TMP/db/server.db' \"INSERT INTO review(patch, rev, reviewer, verdict, at, reviewer_person) VALUES ($CID, 1, 'carol-x', 'approve', 0, 'carol')\" 2>/dev/null"
check "and a second approval by one person" sh -c "! sqlite3 '$TMP/db/server.db' \"INSERT INTO review(patch, rev, reviewer, verdict, at, reviewer_person) VALUES ($CID, 1, 'dave-3', 'approve', 0, 'dave')\" 2>/dev/null"
post erin "/v1/patches/$CID/reviews" "$TMP/b"
expect_status 201 "erin approves"
api "/v1/patches/$CID" -H "$(as viewer)"
check "two persons, two approvals" python3 -c "
import json; a=json.load(open('$TMP/body'))['approvals']; assert a['by'] == ['dave', 'erin'], a"

# ---- which nodes still run a kernel affected by a CVE without a patch for it ----
expect_exit 0 tt kernel add k2 --release 6.1.41 --config "$TMP/config" --source "$K"
expect_exit 0 tt kernel add k3 --release 6.1.60 --config "$TMP/config" --source "$K"
expect_exit 0 tt --json cve show CVE-2024-1001
check "the verdicts the test expects: 6.1.41 affected, 6.1.60 fixed" python3 -c "
import json; v={x['kernel']: x['status'] for x in json.load(open('$TMP/out'))['verdicts']}
assert v['k2'] == 'affected' and v['k3'] == 'fixed', v"
# built_patch NAME WHAT : a submitted patch for CVE-2024-1001 on 6.1.41 whose job (leased by
# the builder) wrote the module NAME.ko; the patch's id in $PID_, the job's in $JOB2, the
# module's SHA-256 in $SHA_
built_patch() {
    patch_for 6.1.41
    printf '{"kernels": ["6.1.41"]}' >"$TMP/l"
    post builder /v1/jobs/lease "$TMP/l"
    JOB2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["id"])' "$TMP/body")
    mk_ko "$TMP/$1.ko" name="$1" livepatch=Y 'vermagic=6.1.41 SMP preempt mod_unload ' license=GPL
    result "$TMP/$1.ko" "$1.ko"
    expect_status 200 "$2"
    SHA_=$(sha256sum "$TMP/$1.ko" | cut -d' ' -f1)
}
# a patch for CVE-2024-1001 on 6.1.41, built: its module is tt_exp (published further down)
built_patch tt_exp "the patch's module"
EXP=$PID_ JEXP=$JOB2 SHA_EXP=$SHA_
SHA_JOB=$(sha256sum "$TMP/good.ko" | cut -d' ' -f1) # the ad hoc job's module, tt_job
SHA_HAND=$(printf 'built by hand' | sha256sum | cut -d' ' -f1)
# another patch for CVE-2024-1001 on 6.1.41: built (tt_wd), approved, published, withdrawn
built_patch tt_wd "the module of the patch to withdraw"
WD=$PID_ JWD=$JOB2 SHA_WD=$SHA_
printf '{"verdict": "approve"}' >"$TMP/b"
post dave_1 "/v1/patches/$WD/reviews" "$TMP/b"
expect_status 201 "dave approves the patch to withdraw"
post erin "/v1/patches/$WD/reviews" "$TMP/b"
expect_status 201 "erin approves it"
PUB=$(srv token create --role publisher publisher-1 2>/dev/null)
printf '%s\n' "$PUB" >"$TMP/publisher-1.token"
expect_exit 0 "$TUXTAPE" publish "$WD" --channel stable --token-file "$TMP/publisher-1.token"
expect_exit 0 "$TUXTAPE" withdraw "$WD" --reason "breaks the fix" --token-file "$TMP/publisher-1.token"
check "the patch is withdrawn" [ "$(sqlite3 "$TMP/db/server.db" "SELECT state FROM patch WHERE id = $WD")" = withdrawn ]
# another, built (tt_rej) and then rejected: a rejected revision is never published
built_patch tt_rej "the module of the patch to reject"
REJ=$PID_ JREJ=$JOB2 SHA_REJ=$SHA_
reject "$REJ"
check "the patch is rejected" [ "$(sqlite3 "$TMP/db/server.db" "SELECT state FROM patch WHERE id = $REJ")" = rejected ]
heartbeat() { # heartbeat NODE BODY
    srv token create --role agent "$1" >"$TMP/$1.token" 2>/dev/null || fail "token $1"
    printf '%s' "$2" >"$TMP/b"
    api /v1/fleet/heartbeat -X POST -H "Authorization: Bearer $(cat "$TMP/$1.token")" \
        -H 'Content-Type: application/json' --data-binary "@$TMP/b"
    expect_status 200 "heartbeat of $1"
}
lp() { printf '{"name": "%s", "sha256": "%s"}' "$1" "$2"; } # lp NAME SHA256
heartbeat n-bare '{"kernel": "6.1.41", "patches": []}'
heartbeat n-patched "{\"kernel\": \"6.1.41\", \"patches\": [$(lp tt_exp "$SHA_EXP")]}"
heartbeat n-name-only '{"kernel": "6.1.41", "patches": ["tt_exp"]}'
heartbeat n-other-digest "{\"kernel\": \"6.1.41\", \"patches\": [$(lp tt_exp "$SHA_JOB")]}"
heartbeat n-adhoc "{\"kernel\": \"6.1.41\", \"patches\": [$(lp tt_job "$SHA_JOB")]}"
heartbeat n-foreign '{"kernel": "6.1.41", "patches": ["hand_made"]}'
heartbeat n-foreign-digest "{\"kernel\": \"6.1.41\", \"patches\": [$(lp hand_made "$SHA_HAND")]}"
heartbeat n-withdrawn "{\"kernel\": \"6.1.41\", \"patches\": [$(lp tt_wd "$SHA_WD")]}"
heartbeat n-withdrawn-too "{\"kernel\": \"6.1.41\", \"patches\": [$(lp tt_wd "$SHA_WD"), \"hand_made\", $(lp tt_exp "$SHA_EXP")]}"
heartbeat n-fixed '{"kernel": "6.1.60"}'
heartbeat n-uninventoried '{"kernel": "6.1.99-unknown", "patches": []}'
heartbeat n-rejected "{\"kernel\": \"6.1.41\", \"patches\": [$(lp tt_rej "$SHA_REJ")]}"
# tt_exp is built but not yet published: the server has not released it as a fix
api /v1/cves/CVE-2024-1001/exposure -H "$(as viewer)"
expect_status 200 "the exposure before tt_exp is published"
check "a module built but never published does not patch" python3 -c "
import json; n={x['node']: x for x in json.load(open('$TMP/body'))['nodes']}
p=n['n-patched']
assert p['exposure'] == 'unknown', p
assert p['patched_by'] == [] and p['unreleased_patches'] == ['tt_exp'], p
assert \"'tt_exp' is the module job $JEXP built for CVE-2024-1001 (patch $EXP, revision 1), which was never published\" in p['reason'], p
assert n['n-withdrawn-too']['exposure'] == 'unknown', n['n-withdrawn-too']"
api /v1/fleet/nodes -H "$(as viewer)"
check "nor does the node list vouch for it" python3 -c "
import json; n={x['name']: x['patched_cves'] for x in json.load(open('$TMP/body'))}
assert n['n-patched'] == [] and n['n-withdrawn-too'] == [], n"
printf '{"verdict": "approve"}' >"$TMP/b"
post dave_1 "/v1/patches/$EXP/reviews" "$TMP/b"
expect_status 201 "dave approves tt_exp's patch"
post erin "/v1/patches/$EXP/reviews" "$TMP/b"
expect_status 201 "erin approves it"
api /v1/cves/CVE-2024-1001/exposure -H "$(as viewer)"
check "approved is not released" python3 -c "
import json; n={x['node']: x for x in json.load(open('$TMP/body'))['nodes']}
assert n['n-patched']['exposure'] == 'unknown', n['n-patched']"
expect_exit 0 "$TUXTAPE" publish "$EXP" --channel stable --token-file "$TMP/publisher-1.token"
api /v1/cves/CVE-2024-1001/exposure -H "$(as viewer)"
expect_status 200 "the exposure of the fleet"
cp "$TMP/body" "$TMP/exposure"
check "each node judged from its heartbeat, the verdicts and the modules built" python3 -c "
import json; a=json.load(open('$TMP/exposure'))
e={n['node']: n['exposure'] for n in a['nodes']}
assert e == {'n-bare': 'exposed', 'n-patched': 'patched', 'n-name-only': 'unknown',
             'n-other-digest': 'unknown', 'n-adhoc': 'unknown', 'n-foreign': 'unknown',
             'n-foreign-digest': 'unknown', 'n-withdrawn': 'unknown',
             'n-withdrawn-too': 'patched', 'n-fixed': 'not-exposed',
             'n-uninventoried': 'unknown', 'n-rejected': 'unknown'}, e
assert a['exposure_counts'] == {'exposed': 1, 'patched': 2, 'not-exposed': 1, 'unknown': 8}, a['exposure_counts']
n={x['node']: x for x in a['nodes']}
def has(node, *texts):
    for t in texts:
        assert t in n[node]['reason'], (node, t, n[node]['reason'])
assert n['n-patched']['patched_by'] == ['tt_exp'], n['n-patched']
has('n-patched', 'job $JEXP', 'matched by name and SHA-256')
assert n['n-name-only']['unidentified_patches'] == ['tt_exp'], n['n-name-only']
assert n['n-name-only']['patched_by'] == [], n['n-name-only']
has('n-name-only', \"'tt_exp' is reported by name only\", 'built a module of that name')
assert n['n-other-digest']['unidentified_patches'] == ['tt_exp'], n['n-other-digest']
has('n-other-digest', \"'tt_exp' (sha256 $SHA_JOB) is not the module this server built under that name\")
assert n['n-adhoc']['unidentified_patches'] == ['tt_job'], n['n-adhoc']
has('n-adhoc', \"'tt_job' is a module this server built ad hoc\")
assert n['n-foreign']['unidentified_patches'] == ['hand_made'], n['n-foreign']
has('n-foreign', \"'hand_made' is reported by name only\")
assert 'built a module of that name' not in n['n-foreign']['reason'], n['n-foreign']
has('n-foreign-digest', \"'hand_made' (sha256 $SHA_HAND) is no module this server built\")
assert n['n-withdrawn']['withdrawn_patches'] == ['tt_wd'], n['n-withdrawn']
assert n['n-withdrawn']['patched_by'] == [] and n['n-withdrawn']['unidentified_patches'] == [], n['n-withdrawn']
has('n-withdrawn', \"'tt_wd' is the module job $JWD built for CVE-2024-1001 (patch $WD, revision 1)\",
    'withdrawn', 'no longer vouches')
assert n['n-withdrawn-too']['patched_by'] == ['tt_exp'], n['n-withdrawn-too']
assert n['n-withdrawn-too']['withdrawn_patches'] == ['tt_wd'], n['n-withdrawn-too']
assert n['n-withdrawn-too']['unidentified_patches'] == ['hand_made'], n['n-withdrawn-too']
assert n['n-patched']['unreleased_patches'] == [], n['n-patched']
assert n['n-rejected']['unreleased_patches'] == ['tt_rej'], n['n-rejected']
assert n['n-rejected']['patched_by'] == [] and n['n-rejected']['unidentified_patches'] == [], n['n-rejected']
has('n-rejected', \"'tt_rej' is the module job $JREJ built for CVE-2024-1001 (patch $REJ, revision 1), which was never published\",
    'never released')
assert 'no kernel of release' in n['n-uninventoried']['reason'], n['n-uninventoried']
assert n['n-bare']['verdicts'][0]['kernel'] == 'k2', n['n-bare']"
api /v1/fleet/nodes -H "$(as viewer)"
check "the fleet's nodes show the patches as reported" python3 -c "
import json; n={x['name']: x['patches'] for x in json.load(open('$TMP/body'))}
assert n['n-name-only'] == ['tt_exp'], n
assert n['n-withdrawn-too'] == [{'name': 'tt_wd', 'sha256': '$SHA_WD'}, 'hand_made',
                                {'name': 'tt_exp', 'sha256': '$SHA_EXP'}], n"
check "the node list vouches for what the exposure calls patched, and no more" python3 -c "
import json; n={x['name']: x['patched_cves'] for x in json.load(open('$TMP/body'))}
assert n['n-patched'] == ['CVE-2024-1001'] and n['n-withdrawn-too'] == ['CVE-2024-1001'], n
for name in ('n-bare', 'n-name-only', 'n-other-digest', 'n-adhoc', 'n-foreign', 'n-foreign-digest',
             'n-withdrawn', 'n-rejected', 'n-fixed', 'n-uninventoried'):
    assert n[name] == [], (name, n)
e={x['node']: x['exposure'] for x in json.load(open('$TMP/exposure'))['nodes']}
for name, cves in n.items():
    assert (e[name] == 'patched') == ('CVE-2024-1001' in cves), (name, e[name], cves)"
api /v1/fleet/nodes/n-patched -H "$(as viewer)"
check "one node's answer has the same list" python3 -c "
import json; a=json.load(open('$TMP/body')); assert a['patched_cves'] == ['CVE-2024-1001'], a"
api "/v1/cves/CVE-2024-1001/exposure?exposure=exposed" -H "$(as viewer)"
check "?exposure=exposed: the exposed nodes alone" python3 -c "
import json; a=json.load(open('$TMP/body')); assert [n['node'] for n in a['nodes']] == ['n-bare'], a"
# the patch is for CVE-2024-1001: for another CVE the same node is exposed
api /v1/cves/CVE-2024-1002/exposure -H "$(as viewer)"
check "a livepatch for another CVE does not count" python3 -c "
import json; e={n['node']: n['exposure'] for n in json.load(open('$TMP/body'))['nodes']}
assert e['n-patched'] == 'exposed', e"
api /v1/cves/CVE-2024-9999/exposure -H "$(as viewer)"
expect_status 404 "a CVE the database lacks"
body_has "no CVE 'CVE-2024-9999'"
api /v1/cves/nonsense/exposure -H "$(as viewer)"
expect_status 400 "not a CVE id"
api "/v1/cves/CVE-2024-1001/exposure?exposure=maybe" -H "$(as viewer)"
expect_status 400 "an unknown exposure"
api /v1/cves/CVE-2024-1001/exposure -H "Authorization: Bearer $(cat "$TMP/n-bare.token")"
expect_status 403 "an agent cannot read the fleet's exposure"
expect_exit 0 "$TUXTAPE" --json exposure cve-2024-1001 --token-file "$TMP/viewer-1.token"
check "tuxtape exposure: the server's answer" cmp -s "$TMP/out" "$TMP/exposure"
expect_exit 0 "$TUXTAPE" exposure CVE-2024-1001 --only exposed --token-file "$TMP/viewer-1.token"
check "tuxtape exposure --only exposed" grep -q '^n-bare .*exposed' "$TMP/out"
check "and its counts" grep -q '^CVE-2024-1001: 1 exposed, 2 patched, 1 not exposed, 8 unknown$' "$TMP/out"
expect_exit 64 "$TUXTAPE" exposure not-a-cve --token-file "$TMP/viewer-1.token"
expect_exit 64 "$TUXTAPE" exposure CVE-2024-1001 --only maybe --token-file "$TMP/viewer-1.token"
# a kernel the inventory loses makes its nodes unknown, not safe
expect_exit 0 tt kernel rm k3
api /v1/cves/CVE-2024-1001/exposure -H "$(as viewer)"
check "a node whose kernel left the inventory is unknown" python3 -c "
import json; e={n['node']: n['exposure'] for n in json.load(open('$TMP/body'))['nodes']}
assert e['n-fixed'] == 'unknown', e"
expect_exit 0 tt kernel rm k2

# ---- GET /v1/cves sees another process's cve sync at once ----
api "/v1/cves?limit=0" -H "$(as viewer)"
check "three CVEs" python3 -c "import json; assert len(json.load(open('$TMP/body'))) == 3"
cp "$TMP/body" "$TMP/cves1"
api "/v1/cves?limit=0" -H "$(as viewer)"
check "the same answer twice" cmp -s "$TMP/body" "$TMP/cves1"
record CVE-2024-1003 "5.10:$BASE:6.2:$FIX_MAIN\n"
fixture_vulns_commit "$R" two
expect_exit 0 tt cve sync
api "/v1/cves?limit=0" -H "$(as viewer)"
check "a sync by another process shows at once" python3 -c "
import json; a=[x['id'] for x in json.load(open('$TMP/body'))]; assert 'CVE-2024-1003' in a, a"
expect_exit 0 tt --json cve list --limit 0
check "and the answer is the CLI's" cmp -s "$TMP/body" "$TMP/out"
# the server's own write, on the connection the cache stamps with: data_version does not move
api "/v1/cves?limit=0&kernel=k1" -H "$(as viewer)"
expect_status 200 "verdicts for k1"
api "/v1/cves?limit=0&kernel=k1" -H "$(as viewer)"
expect_status 200 "verdicts for k1, again"
api /v1/kernels/k1 -X DELETE -H "$(as admin)"
expect_status 200 "k1 removed"
api "/v1/cves?limit=0&kernel=k1" -H "$(as viewer)"
check "no stale answer after the server's own write" [ "$STATUS" != 200 ]
body_has "k1"
# and without the cache the answers are the same
stop_server "$PID"
# migration 4 cancels what a server before it left queued under a rejected patch (the later
# migrations run again too: each must bear that)
sqlite3 "$TMP/db/server.db" "UPDATE job SET state = 'queued', finished_at = NULL WHERE patch = $RJ; PRAGMA user_version = 3"
TUXTAPE_SERVER=$SERVER_BIN
start_server "$TMP/server2.log" --db "$DB" --cache-entries 0
check "migration 4 cancelled the rejected patch's job" [ "$(job_state "$RJ")" = cancelled ]
check "and the schema is current" [ "$(sqlite3 "$TMP/db/server.db" 'PRAGMA user_version')" -ge 4 ]
api "/v1/cves?limit=0" -H "$(as viewer)"
check "--cache-entries 0: the same answer" cmp -s "$TMP/body" "$TMP/out"
stop_server "$PID"
finish
