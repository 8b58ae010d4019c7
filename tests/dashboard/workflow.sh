#!/bin/sh
# The review workflow on the dashboard's Patches screen against a real tuxtape-server on
# 127.0.0.1: a patch made for a CVE (tuxtape patch create), edited through $EDITOR (a scripted
# editor) into a new revision, shown as a coloured diff against revision 1, submitted; the
# two-person rule refusing a reviewer's approval of their own revision on screen; approvals by
# two reviewers in two dashboard sessions; publish (--allow-untested) and withdraw; and the
# Fleet screen changing when an agent reports the patch loaded. At 80x24 and 200x60.
. "$(dirname "$0")/lib.sh"
: "${TUXTAPE_SERVER:?TUXTAPE_SERVER must name the tuxtape-server binary}"
. "$SRCDIR/tests/server/lib.sh"
trap 'for p in $SERVER_PIDS; do kill "$p" 2>/dev/null || :; done
      for s in "$TMP"/tmux.*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done
      rm -rf "$TMP"' EXIT

DB="$TMP/db/t.db"
make_db "$DB"
make_certs
srv() { "$TUXTAPE_SERVER" --db "$DB" "$@"; }
for n in author-1 reviewer-1 reviewer-2 reviewer-3 publisher-1; do
    srv token create --role "${n%-*}" "$n" >"$TMP/tok.$n" 2>/dev/null
done
srv token create --role agent web1 >"$TMP/tok.web1" 2>/dev/null
srv token create --role builder builder-1 >"$TMP/tok.builder-1" 2>/dev/null
"$TUXTAPE" archive init "$TMP/stable" >/dev/null 2>&1 || { fail "archive init"; exit 1; }
start_server "$TMP/server.log" --db "$DB" --archive "$TMP/stable" --allow-untested
URL="https://127.0.0.1:$PORT"
agent() { # agent JSON: web1's heartbeat
    api /v1/fleet/heartbeat -H "Authorization: Bearer $(cat "$TMP/tok.web1")" \
        -H 'Content-Type: application/json' -d "$1"
    expect_status 200 "web1: heartbeat"
}
agent '{"kernel":"6.1.40-web","patches":[],"uptime":100}'
builder() { # builder PATH JSON: as builder-1 (the real build is tests/server/workflow.sh's)
    api "$1" -X POST -H "Authorization: Bearer $(cat "$TMP/tok.builder-1")" \
        -H 'Content-Type: application/json' -d "$2"
}
builder /v1/builders '{"kernels":["6.1.40-web"],"boot_test":false}'

# The scripted editor: applies the sed expression the test left in $TMP/edit (a person's one
# changed line; empty: saved unchanged).
cat >"$TMP/editor" <<ED
#!/bin/sh
sed -i -e "\$(cat "$TMP/edit")" "\$1"
ED
edit_to() { printf 's/"TuxtapeLive:    ", [0-9])/"TuxtapeLive:    ", %s)/' "$1" >"$TMP/edit"; }
chmod +x "$TMP/editor"
CVE=$("$TUXTAPE" --db "$DB" --json cve list -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
PATCH="$SRCDIR/tests/livepatch/patches/a-static-helper.patch"
SRV_ARGS="--server $URL --cacert $TMP/pki/ca.pem --refresh 1"
as_() { n=$1; shift; TUXTAPE_SERVER=$URL TUXTAPE_CA="$TMP/pki/ca.pem" "$TUXTAPE" "$@" --token-file "$TMP/tok.$n"; }
dash() { # dash W H WHO: a dashboard session with WHO's token
    DASH_ENV="TUXTAPE_TOKEN=$(cat "$TMP/tok.$3") EDITOR=$TMP/editor" start "$1" "$2" $SRV_ARGS
    wait_for "CVEs, 2 kernels, nodes loaded" 60 >/dev/null || fail "$3: not loaded"
}

for size in ${SIZES:-80x24 200x60}; do
    w=${size%x*}; h=${size#*x}
    expect_exit 0 as_ author-1 --json patch create --cve "$CVE" --kernel 6.1.40-web --patch "$PATCH"
    ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/out")

    # The author: the list, the detail, an edit through $EDITOR, the diff, submit.
    dash "$w" "$h" author-1
    keys 4
    expect "$size: the server's patches" "^Patches on the server: $ID "
    expect "$size: the newest is selected" "^> #$ID +$CVE +draft +revision 1"
    expect "$size: its approvals against the number needed" '^Approvals: 0 of 2 needed'
    expect "$size: its revisions" '^  1  author-1 '
    check "$size: fills the height" [ "$(screen | wc -l)" = "$h" ]
    screen >"$TMP/screen-$size-list.txt"
    edit_to 2
    keys e
    expect "$size: e saves the edited file as a new revision" 'saved as a new revision'
    expect "$size: revision 2 in the list" "^> #$ID +$CVE +draft +revision 2"
    expect "$size: and in the detail" '^  2  author-1 .*edited in tuxtape-dashboard'
    keys d
    expect "$size: d: revision 1 against the current one" 'revision 1 against the current revision'
    expect "$size: the removed line" '^-.*"TuxtapeLive: +", 1\);'
    expect "$size: the added line" '^\+.*"TuxtapeLive: +", 2\);'
    screen >"$TMP/screen-$size-diff.txt"
    keys d
    expect "$size: d again: the detail" '^Revisions:'
    : >"$TMP/edit"
    keys e
    expect "$size: e with no change makes no revision" 'unchanged; no new revision'
    keys s
    expect "$size: s submits" 'submitted: a build job per kernel'
    expect "$size: a job per kernel" 'build: .* boot: '
    keys L
    expect "$size: L: the job's log (none before a builder runs it)" 'the log'
    keys d
    keys a
    expect "$size: the author may not approve (the server's 403)" '^approve: 403'
    stop

    # Reviewer 1 edits it (their revision) and submits: the two-person rule refuses their approval.
    dash "$w" "$h" reviewer-1
    keys 4
    expect "$size: reviewer 1 sees it submitted" "^> #$ID +$CVE +submitted"
    edit_to 3
    keys e
    expect "$size: a reviewer's revision" 'saved as a new revision'
    keys s
    expect "$size: reviewer 1 submits" 'submitted'
    keys a
    # The server's words (cut at 80 columns, whole at 200).
    if [ "$w" -gt 100 ]; then rule='wrote revision 3 .*two-person rule'; else rule="^approve: 403 'reviewer-1' wrote revision 3"; fi
    expect "$size: the two-person rule, on screen" "$rule"
    keys c; keys -l 'line 58 reads better now'; keys Enter
    expect "$size: c comments" '^commented'
    expect "$size: the comment in the detail" 'reviewer-1 +comment +revision 3 +line 58 reads better now'
    screen >"$TMP/screen-$size-refused.txt"
    stop

    # A builder's result for the current revision's job, posted as a builder would.
    # (Another patch's job left queued earlier fails first.)
    for _ in 1 2 3 4; do
        builder /v1/jobs/lease '{"kernels":["6.1.40-web"]}'
        read -r JOB JPATCH <<EOS
$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))["job"] or {}; print(j.get("id", 0), j.get("patch", 0))' "$TMP/body")
EOS
        [ "$JPATCH" = "$ID" ] || [ "$JOB" = 0 ] && break
        builder "/v1/jobs/$JOB/result" '{"build":"error","error":"not this test"}'
    done
    check "$size: the builder leases the job" [ "$JPATCH" = "$ID" ]
    # A module the archive takes: an object with a livepatch's .modinfo (no code to load).
    printf '__attribute__((section(".modinfo"), used)) static const char mi[] = "livepatch=Y\\0name=livepatch_dash_%s\\0vermagic=6.1.40-web SMP preempt mod_unload modversions ";\n' "$JOB" >"$TMP/mod.c"
    ${CC:-cc} -c "$TMP/mod.c" -o "$TMP/mod.ko" || fail "$size: the test module"
    MOD=$(base64 -w0 "$TMP/mod.ko")
    builder "/v1/jobs/$JOB/result" "{\"build\":\"written\",\"boot\":\"skipped\",\"module_name\":\"livepatch_dash_$JOB.ko\",\"module\":\"$MOD\",\"log\":\"built by the test's builder\\n\"}"
    expect_status 200 "$size: the builder's result"

    # Reviewer 2 approves in a dashboard; reviewer 3 rejects another patch with a reason, then
    # moves to this one with ] and approves.
    dash "$w" "$h" reviewer-2
    keys 4
    expect "$size: the job is built" "#$JOB +6.1.40-web +revision 3 +done +build: written +boot: skipped"
    keys L
    expect "$size: L: the job's log" "built by the test's builder"
    keys d
    keys a
    expect "$size: reviewer 2 approves" '^approved'
    expect "$size: one approval of two" '^Approvals: 1 of 2 needed'
    stop
    expect_exit 0 as_ author-1 --json patch create --cve "$CVE" --kernel 6.1.40-web --patch "$PATCH"
    OTHER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/out")
    expect_exit 0 as_ author-1 patch submit "$OTHER"
    dash "$w" "$h" reviewer-3
    keys 4
    expect "$size: the newest patch first" "^> #$OTHER +$CVE +submitted"
    keys x; keys -l 'wrong value'; keys Enter
    expect "$size: x rejects with a reason" '^rejected'
    expect "$size: the rejection in the detail" 'reviewer-3 +reject +revision 1 +wrong value'
    expect "$size: the patch is rejected" "^> #$OTHER +$CVE +rejected"
    keys ']'
    expect "$size: ] selects the next patch" "^> #$ID +$CVE +built"
    keys '['
    expect "$size: [ the previous one" "^> #$OTHER +$CVE +rejected"
    keys ']'
    keys a
    expect "$size: reviewer 3 approves after all" '^approved'
    expect "$size: two approvals of two" '^Approvals: 2 of 2 needed'
    stop

    # The publisher: P asks the channel (stable), W withdraws.
    dash "$w" "$h" publisher-1
    keys 4
    keys ']'
    expect "$size: the approved patch" "^> #$ID +$CVE +approved"
    keys P Enter
    if wait_for '^published' 10 >/dev/null; then
        pass
        keys G # at 80x24 the publications are below the fold
        expect "$size: the publication in the detail" '^  stable +revision 3 +by publisher-1'
        screen >"$TMP/screen-$size-published.txt"
        # An agent reports the patch loaded: the Fleet screen follows.
        keys 3
        expect "$size: web1 without patches" '^web1 +6.1.40-web +ok +0 '
        agent "{\"kernel\":\"6.1.40-web\",\"patches\":[\"livepatch_dash_$JOB\"],\"uptime\":120}"
        expect "$size: web1 reports the patch loaded" '^web1 +6.1.40-web +ok +1 ' 10
        agent '{"kernel":"6.1.40-web","patches":[],"uptime":130}'
        keys 4
        expect "$size: the published patch" "^> #$ID +$CVE +published"
        keys W
        expect "$size: W withdraws" '^withdrawn'
        keys G
        expect "$size: the withdrawal in the detail" 'stable +revision 3 +by publisher-1 +withdrawn'
    else
        fail "$size: P publishes"; screen | sed 's/^/    | /'
    fi
    stop
done
stop_server "$PID"
# The captures docs/dashboard.md shows.
if [ -n "${CAPTURE_DIR:-}" ]; then cp "$TMP"/screen-*.txt "$CAPTURE_DIR"/; fi
finish
