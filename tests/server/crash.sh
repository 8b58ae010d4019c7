#!/bin/sh
# A server killed (SIGKILL) in the middle of a write commits nothing half: a publish into a real
# archive (several large modules), a large patch revision and a build result with a large
# module, each killed at several delays; after a restart the state database, its audit log, the
# job artifacts and the archive agree: the whole change or none of it.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"
command -v objcopy >/dev/null || { echo "SKIP: objcopy is not installed"; exit 77; }
DB="$TMP/db/t.db"
SERVER_BIN=$TUXTAPE_SERVER
srv() { "$SERVER_BIN" --db "$DB" "$@"; }
q() { sqlite3 "$TMP/db/server.db" "$1"; }
make_certs
mkdir -p "$TMP/db"
for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1 viewer-1; do
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
