#!/bin/sh
# A server killed (SIGKILL) in the middle of a write commits nothing half: a publish into a real
# archive (several large modules), a large patch revision and a build result with a large
# module, each killed at several delays; after a restart the state database, its audit log, the
# job artifacts and the archive agree: the whole change or none of it. Kernel adds, replaces and
# removals come first (CRASH_KERNEL_ONLY=1 stops after them, for a quick run).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"
command -v objcopy >/dev/null || { echo "SKIP: objcopy is not installed"; exit 77; }
DB="$TMP/db/t.db"
SERVER_BIN=$TUXTAPE_SERVER
srv() { "$SERVER_BIN" --db "$DB" "$@"; }
q() { sqlite3 "$TMP/db/server.db" "$1"; }
make_certs
mkdir -p "$TMP/db"
for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1 viewer-1 admin-1; do
    srv token create --role "${n%-*}" "$n" >"$TMP/$n.token" 2>/dev/null || { fail "token $n"; exit 1; }
done
"$TUXTAPE" archive init "$TMP/stable" >/dev/null 2>&1 || { fail "archive init"; exit 1; }
ARGS="--db $DB --archive $TMP/stable --allow-untested --max-body 67108864 --threads 2"
# A new log each time: start_server reads the port from it, never the last server's.
RUNS=0
# shellcheck disable=SC2086
start() { RUNS=$((RUNS + 1)); start_server "$TMP/server.$RUNS.log" $ARGS; }
start

post() { # post TOKEN PATH BODY-FILE
    api "$2" -X POST -H "Authorization: Bearer $(cat "$TMP/$1.token")" \
        -H 'Content-Type: application/json' --data-binary "@$3"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))'"$1"')' "$TMP/body"; }
# post_killed DELAY TOKEN PATH BODY-FILE : the request under way, the server killed DELAY s in,
# then started again
post_killed() {
    curl -s --max-time 30 --cacert "$TMP/pki/ca.pem" -o /dev/null -X POST \
        -H "Authorization: Bearer $(cat "$TMP/$2.token")" -H 'Content-Type: application/json' \
        --data-binary "@$4" "https://127.0.0.1:$PORT$3" &
    c=$!
    sleep "$1"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null || :
    wait "$c" 2>/dev/null || :
    start
}
# mk_ko OUT NAME RELEASE PAD-BYTES : a livepatch-shaped relocatable object, made large
mk_ko() {
    [ -f "$TMP/ko-base.o" ] || echo 'int tt_fn(void) { return 1; }' | ${CC:-cc} -c -x c - -o "$TMP/ko-base.o"
    printf 'name=%s\0livepatch=Y\0vermagic=%s SMP preempt mod_unload \0license=GPL\0' "$2" "$3" >"$TMP/modinfo.bin"
    head -c "$4" /dev/urandom >"$TMP/pad.bin"
    objcopy --add-section .modinfo="$TMP/modinfo.bin" --add-section .tt_pad="$TMP/pad.bin" \
        "$TMP/ko-base.o" "$1"
}
result_body() { # result_body KO NAME OUT
    python3 -c 'import base64, json, sys; print(json.dumps({"build": "written", "boot": "skipped",
        "module_name": sys.argv[2], "log": "built\n" * 1000,
        "module": base64.b64encode(open(sys.argv[1], "rb").read()).decode()}))' "$1" "$2" >"$3"
}
DIFF='--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n'
N=0
# approved_patch MODULES PAD-BYTES : a patch for MODULES kernels, each job built with a module
# of about PAD-BYTES, approved twice; its id in $P, its kernels in $KERNELS
approved_patch() {
    N=$((N + 1)); KERNELS=""
    for i in $(seq "$1"); do KERNELS="$KERNELS 6.1.$((100 + N)).$i-crash"; done
    python3 -c 'import json,sys; print(json.dumps({"cve": "CVE-2024-1001", "kernels": sys.argv[2:], "patch": sys.argv[1].encode().decode("unicode_escape")}))' "$DIFF" $KERNELS >"$TMP/b"
    post author-1 /v1/patches "$TMP/b"
    P=$(field '["id"]')
    printf '{}' >"$TMP/b"; post author-1 "/v1/patches/$P/submit" "$TMP/b"
    for k in $KERNELS; do
        printf '{"kernels": ["%s"]}' "$k" >"$TMP/l"
        post builder-1 /v1/jobs/lease "$TMP/l"
        j=$(field '["job"]["id"]')
        mk_ko "$TMP/m.ko" "tt_c$j" "$k" "$2"
        result_body "$TMP/m.ko" "tt_c$j.ko" "$TMP/r"
        post builder-1 "/v1/jobs/$j/result" "$TMP/r"
        [ "$STATUS" = 200 ] || fail "a result for job $j: $STATUS"
    done
    printf '{"verdict": "approve"}' >"$TMP/b"
    post reviewer-1 "/v1/patches/$P/reviews" "$TMP/b"
    post reviewer-2 "/v1/patches/$P/reviews" "$TMP/b"
    [ "$(q "SELECT state FROM patch WHERE id = $P")" = approved ] || fail "patch $P is not approved"
}
# the archive's published targets of patch P's kernels, and what is staged
archive_state() {
    "$TUXTAPE" --json archive status "$TMP/stable" >"$TMP/status" 2>/dev/null
    python3 - "$TMP/status" $KERNELS <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); ks = set(sys.argv[2:])
n = sum(len(k["targets"]) for k in s["kernels"] if k["kernel"] in ks)
print(n, "staged" if s["staged"] else "clean")
PY
}
# publish_agrees WHAT : P's publication, its audit record, its state and the archive agree
WHOLE=0; NONE=0; RECOVERED=0
publish_agrees() { # publish_agrees [nocount]
    pubs=$(q "SELECT count(*) FROM publication WHERE patch = $P AND withdrawn_at IS NULL")
    audits=$(q "SELECT count(*) FROM audit WHERE action = 'patch.publish' AND object = '$P'")
    state=$(q "SELECT state FROM patch WHERE id = $P")
    intents=$(q "SELECT count(*) FROM archive_intent")
    set -- $(archive_state)
    if [ "$intents" = 0 ] && [ "$2" = clean ] && [ "$pubs/$audits/$state/$1" = "1/1/published/$MODS" ]; then
        pass
        [ -n "$COUNT" ] || return 0
        WHOLE=$((WHOLE + 1))
        if [ "$(q "SELECT json_extract(detail, '\$.completed_at_restart') FROM audit WHERE action = 'patch.publish' AND object = '$P'")" = 1 ]; then
            RECOVERED=$((RECOVERED + 1))
        fi
    elif [ "$intents" = 0 ] && [ "$2" = clean ] && [ "$pubs/$audits/$state/$1" = "0/0/approved/0" ]; then
        pass
        [ -z "$COUNT" ] || NONE=$((NONE + 1))
    else
        fail "$WHAT: publications $pubs, audit records $audits, state $state, archive targets $1 of $MODS ($2), intents $intents"
    fi
}

# ---- a kernel added, replaced or removed: the CVE database changes, then the audit record ----
# The change and its record are in two databases: a pending record is committed first, and a
# server killed before the audit record writes it at its next start, saying what it found.
# TUXTAPE_SERVER_TEST_KERNEL_PAUSE (test-only) holds the request where the kill must land.
K="$TMP/linux"
put() { mkdir -p "$(dirname "$K/$1")"; printf "$2" >"$K/$1"; }
put Makefile 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 40\ncore-y :=\ndrivers-y :=\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\nexport ARCH_DRIVERS := $(drivers-y)\n'
put Kbuild 'obj-y += drivers/ arch/$(SRCARCH)/\n'
put scripts/Makefile.build '# not read\n'
put arch/x86/Makefile 'BITS := 64\n'
put arch/x86/Kbuild 'obj-y += kernel/\n'
put arch/x86/kernel/Makefile 'obj-y += setup.o\n'
put arch/x86/kernel/setup.c ''
put drivers/Makefile 'obj-$(CONFIG_FOO) += foo.o\n'
put drivers/foo.c ''
kbody() { # kbody NAME FOO(y|m) REPLACE(true|false) : a POST /v1/kernels body in $TMP/k
    python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "release": "6.1.40",
        "config": "CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_FOO=%s\n" % sys.argv[2],
        "replace": sys.argv[3] == "true"}))' "$1" "$2" "$3" >"$TMP/k"
}
kq() { sqlite3 "$DB" "$1"; }
kernel_row() { kq "SELECT release || ' ' || updated_at || ' ' || length(config) FROM kernel WHERE name = '$1'"; }
ADMIN="Authorization: Bearer $(cat "$TMP/admin-1.token")"
# kernel_killed WHERE NAME CHANGED METHOD PATH [BODY-FILE] : the request held WHERE (before or
# after the CVE database changes), the server killed once the CVE database shows CHANGED (a
# shell test), then started again without the pause
kernel_killed() {
    stop_server "$PID"
    TUXTAPE_SERVER_TEST_KERNEL_PAUSE="$1:20000"; export TUXTAPE_SERVER_TEST_KERNEL_PAUSE
    RUNS=$((RUNS + 1)); start_server "$TMP/server.$RUNS.log" $ARGS --kernel-source "$K"
    unset TUXTAPE_SERVER_TEST_KERNEL_PAUSE
    grep -q "TUXTAPE_SERVER_TEST_KERNEL_PAUSE is set" "$TMP/server.$RUNS.log" || fail "the server does not say it pauses"
    set -- "$@"; where=$1; name=$2; changed=$3; method=$4; path=$5
    if [ -n "${6:-}" ]; then data="--data-binary @$6"; else data=""; fi
    # shellcheck disable=SC2086
    curl -s --max-time 30 --cacert "$TMP/pki/ca.pem" -o /dev/null -X "$method" -H "$ADMIN" \
        -H 'Content-Type: application/json' $data "https://127.0.0.1:$PORT$path" &
    c=$!
    held=""
    for _ in $(seq 100); do
        if [ "$(q 'SELECT count(*) FROM kernel_intent')" = 1 ] && sh -c "$changed"; then held=1; break; fi
        sleep 0.1
    done
    check "the $method of kernel $name is held $where the change" [ -n "$held" ]
    kill -9 "$PID"
    wait "$PID" 2>/dev/null || :
    wait "$c" 2>/dev/null || :
    check "the killed server left its pending record" [ "$(q 'SELECT count(*) FROM kernel_intent')" = 1 ]
    [ -n "${NO_RESTART:-}" ] || kstart
}
kstart() { RUNS=$((RUNS + 1)); start_server "$TMP/server.$RUNS.log" $ARGS --kernel-source "$K"; }
# last_kernel_audit ACTION NAME OUTCOME : the last audit record of NAME, read with GET /v1/audit,
# is ACTION by admin-1 from 127.0.0.1, completed at the restart with OUTCOME
last_kernel_audit() {
    api "/v1/audit?limit=1000" -H "$ADMIN"
    check "GET /v1/audit after the restart: $1 of $2, $3" python3 - "$TMP/body" "$1" "$2" "$3" <<'PY'
import json, sys
a = [e for e in json.load(open(sys.argv[1])) if e["object"] == sys.argv[3] and e["action"].startswith("kernel.")]
assert a, "no record"
e = a[-1]
d = e["detail"]
assert e["action"] == sys.argv[2], e
assert e["actor"] == "admin-1" and e["role"] == "admin" and e["remote"].startswith("127.0.0.1:"), e
assert d["completed_at_restart"] is True and d["outcome"] == sys.argv[4] and d["reason"], d
assert d["requested_at"] <= e["at"] and d["requested_at"].endswith("Z"), (d, e["at"])
PY
    check "no pending kernel record is left" [ "$(q 'SELECT count(*) FROM kernel_intent')" = 0 ]
}
kaudits() { q "SELECT count(*) FROM audit WHERE object = '$1' AND action LIKE 'kernel.%'"; }

# the uninterrupted add and removal: one record each, nothing pending
kbody k-plain m false; post admin-1 /v1/kernels "$TMP/k"
expect_status 501 "kernel add without --kernel-source"
check "a refused add leaves no pending record" [ "$(q 'SELECT count(*) FROM kernel_intent')/$(kaudits k-plain)" = 0/0 ]
stop_server "$PID"; kstart
post admin-1 /v1/kernels "$TMP/k"
expect_status 201 "an uninterrupted kernel add"
post admin-1 /v1/kernels "$TMP/k"
expect_status 409 "the same kernel again"
check "one record for the add, none for the refused one, nothing pending" \
    [ "$(kaudits k-plain)/$(q 'SELECT count(*) FROM kernel_intent')" = 1/0 ]

# an add killed after the CVE database changed: applied, recorded at the restart
kbody k-a m false
kernel_killed after k-a "[ -n \"\$(sqlite3 '$DB' \"SELECT 1 FROM kernel WHERE name = 'k-a'\")\" ]" POST /v1/kernels "$TMP/k"
check "the add killed after the change is in the CVE database" [ -n "$(kernel_row k-a)" ]
last_kernel_audit kernel.add k-a applied
# an add killed before: not applied, and recorded as such
kbody k-b m false
kernel_killed before k-b true POST /v1/kernels "$TMP/k"
check "the add killed before the change is not in the CVE database" [ -z "$(kernel_row k-b)" ]
last_kernel_audit kernel.add k-b "not applied"
# a replace (another config) killed after the change: applied
sleep 1 # a new updated_at second
old=$(kernel_row k-a)
kbody k-a y true
kernel_killed after k-a "[ \"\$(sqlite3 '$DB' \"SELECT release || ' ' || updated_at || ' ' || length(config) FROM kernel WHERE name = 'k-a'\")\" != '$old' ]" POST /v1/kernels "$TMP/k"
check "the replace reached the CVE database" [ "$(kq "SELECT config LIKE '%CONFIG_FOO=y%' FROM kernel WHERE name = 'k-a'")" = 1 ]
last_kernel_audit kernel.replace k-a applied
# a replace killed before: the old kernel stays, not applied
kbody k-a m true
kernel_killed before k-a true POST /v1/kernels "$TMP/k"
check "the replace killed before the change left the kernel as it was" [ "$(kq "SELECT config LIKE '%CONFIG_FOO=y%' FROM kernel WHERE name = 'k-a'")" = 1 ]
last_kernel_audit kernel.replace k-a "not applied"
# a removal killed after: applied; before: not applied
kernel_killed after k-a "[ -z \"\$(sqlite3 '$DB' \"SELECT 1 FROM kernel WHERE name = 'k-a'\")\" ]" DELETE /v1/kernels/k-a
last_kernel_audit kernel.remove k-a applied
kernel_killed before k-plain true DELETE /v1/kernels/k-plain
check "the removal killed before the change left the kernel" [ -n "$(kernel_row k-plain)" ]
last_kernel_audit kernel.remove k-plain "not applied"
# a removal killed after the change, the name then given to another kernel before the restart:
# the server cannot tell what its own removal did, and says so
NO_RESTART=1 kernel_killed after k-plain "[ -z \"\$(sqlite3 '$DB' \"SELECT 1 FROM kernel WHERE name = 'k-plain'\")\" ]" DELETE /v1/kernels/k-plain
printf 'CONFIG_X86=y\nCONFIG_X86_64=y\n# CONFIG_FOO is not set\n' >"$TMP/kconfig"
"$TUXTAPE" --db "$DB" kernel add k-plain --release 6.1.40 --config "$TMP/kconfig" --source "$K" >/dev/null 2>&1 || fail "kernel add from the command line"
kstart
last_kernel_audit kernel.remove k-plain unknown
check "no kernel change reads as applied when it was not: k-b is in no record as applied" \
    [ "$(q "SELECT count(*) FROM audit WHERE object = 'k-b' AND json_extract(detail, '\$.outcome') = 'applied'")" = 0 ]
# the test-only pause: refused unless well-formed
for v in "sometime:10" "before:" "after:-5" "before:0"; do
    TUXTAPE_SERVER_TEST_KERNEL_PAUSE=$v "$SERVER_BIN" --db "$DB" --listen 127.0.0.1:0 --tls-cert "$TMP/pki/server.pem" --tls-key "$TMP/pki/server.key" >/dev/null 2>"$TMP/err" &
    p=$!
    sleep 0.5
    if kill -0 "$p" 2>/dev/null; then kill "$p"; wait "$p" 2>/dev/null; fail "the server started with TUXTAPE_SERVER_TEST_KERNEL_PAUSE=$v"; else
        rc=0; wait "$p" || rc=$?
        check "TUXTAPE_SERVER_TEST_KERNEL_PAUSE=$v is refused (exit $rc)" sh -c "[ $rc = 64 ] && grep -q 'is not before:MS or after:MS' '$TMP/err'"
    fi
done
[ -z "${CRASH_KERNEL_ONLY:-}" ] || { stop_server "$PID"; finish; exit; }

# ---- publish: the intent, the archive, the record ----
MODS=4
approved_patch $MODS 3000000
printf '{"channel": "stable"}' >"$TMP/pub"
T0=$(date +%s%N)
post publisher-1 "/v1/patches/$P/publish" "$TMP/pub"
T1=$(date +%s%N)
expect_status 200 "an uninterrupted publish"
WHAT="an uninterrupted publish"; COUNT=; publish_agrees
MS=$(( (T1 - T0) / 1000000 ))
echo "an uninterrupted publish of $MODS modules of 3 MB: $MS ms"
for pct in 5 15 25 35 45 55 65 75 85 95 120; do
    approved_patch $MODS 3000000
    d=$(python3 -c "print($MS * $pct / 100 / 1000)")
    post_killed "$d" publisher-1 "/v1/patches/$P/publish" "$TMP/pub"
    WHAT="a publish killed after ${d}s"; COUNT=1; publish_agrees
    # whatever the kill left, the patch is published, or can be
    post publisher-1 "/v1/patches/$P/publish" "$TMP/pub"
    WHAT="publish after the restart"; COUNT=; publish_agrees
    [ "$(q "SELECT state FROM patch WHERE id = $P")" = published ] || fail "patch $P not published after the restart"
done
echo "publish killed: $WHOLE whole ($RECOVERED completed at the restart), $NONE none"
check "a restart completed an interrupted publish at least once" [ "$RECOVERED" -ge 1 ]
# a withdrawal killed part way is completed too
printf '{"reason": "test"}' >"$TMP/wd"
for d in 0.02 0.05; do
    approved_patch 2 1000000; MODS=2
    post publisher-1 "/v1/patches/$P/publish" "$TMP/pub"
    post_killed "$d" publisher-1 "/v1/patches/$P/withdraw" "$TMP/wd"
    pubs=$(q "SELECT count(*) FROM publication WHERE patch = $P AND withdrawn_at IS NULL")
    audits=$(q "SELECT count(*) FROM audit WHERE action = 'patch.withdraw' AND object = '$P'")
    set -- $(archive_state)
    check "a withdrawal killed after ${d}s: whole or none ($pubs publications, $audits records, $1 targets, $2)" \
        sh -c "[ '$2' = clean ] && { [ '$pubs/$audits/$1' = '0/1/0' ] || [ '$pubs/$audits/$1' = '1/0/2' ]; }"
done
check "no intent is left" [ "$(q 'SELECT count(*) FROM archive_intent')" = 0 ]

# ---- a large revision: the text, the revision and its audit record in one transaction ----
python3 -c 'import json; print(json.dumps({"patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n" + "+b\n" * 330000}))' >"$TMP/rev"
printf '{"cve": "CVE-2024-1001", "kernels": ["6.1.1"], "patch": "--- a/x\\n+++ b/x\\n"}' >"$TMP/b"
post author-1 /v1/patches "$TMP/b"
RP=$(field '["id"]')
for d in 0.01 0.03 0.06 0.1 0.2; do
    post_killed "$d" author-1 "/v1/patches/$RP/revisions" "$TMP/rev"
    revs=$(q "SELECT count(*) FROM patch_revision WHERE patch = $RP")
    audits=$(q "SELECT count(*) FROM audit WHERE action IN ('patch.create', 'patch.revise') AND object = '$RP'")
    cur=$(q "SELECT revision FROM patch WHERE id = $RP")
    check "a revision killed after ${d}s: $revs revisions, $audits records, current $cur" \
        sh -c "[ '$revs' = '$audits' ] && [ '$cur' = '$revs' ]"
done
check "the revisions kept are whole" [ "$(q "SELECT count(*) FROM patch_revision WHERE patch = $RP AND rev > 1 AND length(body) < 900000")" = 0 ]

# ---- a build result with a large module: its files count only with its record ----
printf '{"cve": "CVE-2024-1001", "kernels": ["6.1.9-res"], "patch": "--- a/x\\n+++ b/x\\n"}' >"$TMP/b"
post author-1 /v1/patches "$TMP/b"
printf '{}' >"$TMP/b"; post author-1 "/v1/patches/$(field '["id"]')/submit" "$TMP/b"
printf '{"kernels": ["6.1.9-res"]}' >"$TMP/l"
post builder-1 /v1/jobs/lease "$TMP/l"
J=$(field '["job"]["id"]')
for d in 0.05 0.1 0.2 0.4 1; do
    # the builder still holds the lease: it sends its result again after the restart
    mk_ko "$TMP/m.ko" "tt_r$J" 6.1.9-res 12000000
    result_body "$TMP/m.ko" "tt_r$J.ko" "$TMP/r"
    post_killed "$d" builder-1 "/v1/jobs/$J/result" "$TMP/r"
    built=$(q "SELECT count(*) FROM job WHERE id = $J AND build IS NOT NULL")
    audits=$(q "SELECT count(*) FROM audit WHERE action = 'job.finish' AND object = '$J'")
    api "/v1/jobs/$J/log" -H "Authorization: Bearer $(cat "$TMP/viewer-1.token")"
    log=$STATUS
    api "/v1/jobs/$J/module" -H "Authorization: Bearer $(cat "$TMP/viewer-1.token")"
    if [ "$built/$audits" = 1/1 ]; then
        check "a result killed after ${d}s, recorded: its module and log are served" \
            sh -c "[ '$STATUS/$log' = 200/200 ] && cmp -s '$TMP/body' '$TMP/m.ko'"
        break
    fi
    check "a result killed after ${d}s, not recorded: nothing of it is served ($built/$audits, module $STATUS, log $log)" \
        [ "$built/$audits/$STATUS/$log" = 0/0/404/404 ]
done
if [ "$built" = 0 ]; then
    post builder-1 "/v1/jobs/$J/result" "$TMP/r"
    expect_status 200 "the result, not killed"
    api "/v1/jobs/$J/module" -H "Authorization: Bearer $(cat "$TMP/viewer-1.token")"
    check "then its module is served" cmp -s "$TMP/body" "$TMP/m.ko"
fi
check "one job.finish record" [ "$(q "SELECT count(*) FROM audit WHERE action = 'job.finish' AND object = '$J'")" = 1 ]
check "one module in the job's directory" [ "$(ls "$TMP/db/artifacts/jobs/$J/" | grep -c '\.ko$')" = 1 ]
stop_server "$PID"
finish
