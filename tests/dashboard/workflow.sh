#!/bin/sh
# The review workflow on the dashboard's Patches screen against a real tuxtape-server on
# 127.0.0.1 filled with the shared CVE records: a CVE triaged to a patch in the dashboard (T:
# the server takes the raw fix from its stable-tree clone), the refusals (a kernel that needs
# no fix, a fix commit the clone lacks) on the status line, an edit through $EDITOR (a
# scripted editor) into a new revision, revision 1 against it side by side (200 columns) or
# as a coloured diff (80), submitted; the two-person rule refusing a reviewer's approval of
# their own revision on screen; approvals by two reviewers in two dashboard sessions; publish
# (--allow-untested) and withdraw; the Fleet screen changing when an agent reports the patch
# loaded. At 80x24 and 200x60. Then a slow server (a proxy holding each request): the keys and
# redraws go on while a request is out.
. "$(dirname "$0")/lib.sh"
: "${TUXTAPE_SERVER:?TUXTAPE_SERVER must name the tuxtape-server binary}"
. "$SRCDIR/tests/server/lib.sh"
. "$SRCDIR/tests/helpers/fixtures.sh"
trap 'for p in $SERVER_PIDS; do kill "$p" 2>/dev/null || :; done
      for s in "$TMP"/tmux.*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done
      rm -rf "$TMP"' EXIT

DB="$TMP/db/t.db"
make_db "$DB"
make_certs

# A stable-tree clone the server takes raw fixes from: a base, its 6.1 backport and the
# mainline fix of one more CVE, recorded on top of the shared records (the shared records'
# fix commits are not in this clone: the server refuses those, and the test sees it).
L="$TMP/linux-git"
fixture_linux_git "$L" 8 7
TCVE=CVE-2026-99901
fixture_cve_record "$TMP/vulns" "$TCVE" '["net/core/dev.c"]' \
    "5.10:$BASE:6.1.50:$FIX_61\n5.10:$BASE:6.2:$FIX_MAIN\n" "$(fixture_cvss)" \
    "net: core: fix dev for the triage test" "dev returned 0"
fixture_vulns_commit "$TMP/vulns" "the triage test's CVE"
"$TUXTAPE" --db "$DB" -q cve sync --repo "$TMP/vulns" >/dev/null || fail "sync of the test CVE"
check "$TCVE: web-6.1 (6.1.40) is affected" sh -c "'$TUXTAPE' --db '$DB' --json cve list -n 0 --kernel web-6.1 --status affected | grep -q '\"$TCVE\"'"
check "$TCVE: db-6.1 (6.1.100) is fixed" sh -c "'$TUXTAPE' --db '$DB' --json cve list -n 0 --kernel db-6.1 --status fixed | grep -q '\"$TCVE\"'"
# A shared CVE no inventory kernel compiles: T refuses it first, then the server does.
NCVE=$(for k in web-6.1 db-6.1; do "$TUXTAPE" --db "$DB" --json cve list -n 0 --kernel $k --status not-compiled | python3 -c 'import json,sys; [print(x["id"]) for x in json.load(sys.stdin)]' | sort >"$TMP/nc.$k"; done
       comm -12 "$TMP/nc.web-6.1" "$TMP/nc.db-6.1" | head -1)
check "a shared CVE neither kernel compiles" [ -n "$NCVE" ]
srv() { "$TUXTAPE_SERVER" --db "$DB" "$@"; }
for n in author-1 reviewer-1 reviewer-2 reviewer-3 publisher-1; do
    srv token create --role "${n%-*}" "$n" >"$TMP/tok.$n" 2>/dev/null
done
srv token create --role agent web1 >"$TMP/tok.web1" 2>/dev/null
srv token create --role builder builder-1 >"$TMP/tok.builder-1" 2>/dev/null
"$TUXTAPE" archive init "$TMP/stable" >/dev/null 2>&1 || { fail "archive init"; exit 1; }
start_server "$TMP/server.log" --db "$DB" --archive "$TMP/stable" --allow-untested --linux-repo "$L"
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
edit_to() { printf 's/^\\(+.*return \\)[0-9];/\\1%s;/' "$1" >"$TMP/edit"; }
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
    as_ author-1 --json patch list >"$TMP/before" 2>/dev/null

    # The author triages in the dashboard: T on a CVE no kernel compiles is refused by the
    # dashboard (as tuxtape cve patch refuses it), T again by the server (its clone lacks the
    # fix); on a kernel the CVE is fixed on (K) likewise; on the affected kernel it makes the
    # patch from the raw fix and opens it on Patches.
    dash "$w" "$h" author-1
    keys / "$NCVE" Enter
    expect "$size: the shared CVE found" "/$NCVE"
    keys T
    expect "$size: T refuses a kernel that needs no fix" "^triage: kernel 'db-6.1' is not-compiled for $NCVE"
    keys T
    expect "$size: T again: the server's refusal, on the status line" "^triage $NCVE for db-6.1: (404 commit [0-9a-f]{8}|400 the records of)"
    keys / "$TCVE" Enter
    expect "$size: the test CVE found" "/$TCVE"
    keys K
    expect "$size: K: db-6.1" 'kernel:db-6.1'
    keys T
    expect "$size: T refuses the kernel it is fixed on" "^triage: kernel 'db-6.1' is fixed for $TCVE"
    keys K K
    expect "$size: K back to any" 'kernel:any'
    as_ author-1 --json patch list >"$TMP/after" 2>/dev/null
    check "$size: the refusals stored no patch" cmp -s "$TMP/before" "$TMP/after"
    keys T
    expect "$size: T makes the patch from the raw fix" "^created from the raw fix of $TCVE for web-6.1" 20
    expect "$size: and opens it on Patches" "^> #[0-9]+ +$TCVE +draft +revision 1"
    ID=$(screen | sed -n "s/^> #\([0-9]*\) .*/\1/p")
    expect "$size: the server's patches" "^Patches on the server: $ID "
    expect "$size: its approvals against the number needed" '^Approvals: 0 of 2 needed'
    expect "$size: revision 1 is the raw fix" '^  1  author-1 .*the raw fix \(tuxtape-dashboard triage\)'
    check "$size: fills the height" [ "$(screen | wc -l)" = "$h" ]
    api "/v1/patches/$ID/patch?rev=1" -H "Authorization: Bearer $(cat "$TMP/tok.author-1")"
    expect_status 200 "$size: revision 1's text"
    body_has "From $FIX_61 "
    screen >"$TMP/screen-$size-list.txt"
    edit_to 2
    keys e
    expect "$size: e saves the edited file as a new revision" 'saved as a new revision'
    expect "$size: revision 2 in the list" "^> #$ID +$TCVE +draft +revision 2"
    expect "$size: and in the detail" '^  2  author-1 .*edited in tuxtape-dashboard'
    keys d
    if [ "$w" -ge 160 ]; then
        expect "$size: d: the raw fix beside the current revision" 'revision 1 \(the raw fix\) beside the current revision 2'
        # "+<tab>return": the tab to column 8 of each half, counted from its first column.
        expect "$size: the changed line, side by side" '^\+ {7}return 7; +\| \+ {7}return 2;'
        expect "$size: the same lines on both sides" '^Subject: \[PATCH\] net: fix dev \(6.1 backport\) +Subject: '
    else
        expect "$size: d: the raw fix against the current revision" 'revision 1 \(the raw fix\) against the current revision 2'
        expect "$size: the removed line, its tab to column 8" '^-\+ {6}return 7;'
        expect "$size: the added line" '^\+\+.*return 2;'
    fi
    screen >"$TMP/screen-$size-diff.txt"
    check "$size: the changes in colour" sh -c "tmux -S '$SOCK' capture-pane -e -p -t $SESSION | grep -q '\[3[12]m\|\[3[12];'"
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

    # Under NO_COLOR the same view has no colour; the gutter and the signs still tell.
    DASH_ENV="TUXTAPE_TOKEN=$(cat "$TMP/tok.author-1") NO_COLOR=1" start "$w" "$h" $SRV_ARGS
    wait_for "CVEs, 2 kernels, nodes loaded" 60 >/dev/null || fail "NO_COLOR: not loaded"
    keys 4 d
    if [ "$w" -ge 160 ]; then
        expect "$size: NO_COLOR: side by side" '^\+ +return 7; +\| \+ +return 2;'
    else
        expect "$size: NO_COLOR: the diff" '^\+\+.*return 2;'
    fi
    check "$size: NO_COLOR: no colour" sh -c "! tmux -S '$SOCK' capture-pane -e -p -t $SESSION | grep -q '\[3[1-7]m\|\[3[1-7];\|\[4[0-7]m'"
    stop

    # Reviewer 1 edits it (their revision) and submits: the two-person rule refuses their approval.
    dash "$w" "$h" reviewer-1
    keys 4
    expect "$size: reviewer 1 sees it submitted" "^> #$ID +$TCVE +submitted"
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
    expect "$size: ] selects the next patch" "^> #$ID +$TCVE +built"
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
    expect "$size: the approved patch" "^> #$ID +$TCVE +approved"
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
        expect "$size: the published patch" "^> #$ID +$TCVE +published"
        keys W
        expect "$size: W withdraws" '^withdrawn'
        keys G
        expect "$size: the withdrawal in the detail" 'stable +revision 3 +by publisher-1 +withdrawn'
    else
        fail "$size: P publishes"; screen | sed 's/^/    | /'
    fi
    stop
done

# A slow server: a proxy that holds every request for 8 s while $TMP/slow exists. A request
# out to it shows as working, and meanwhile the keys and redraws go on.
python3 "$SRCDIR/tests/dashboard/slowproxy.py" "$PORT" "$TMP/slow" "$TMP/proxy.port" 8 &
SERVER_PIDS="$SERVER_PIDS $!"
for _ in $(seq 100); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
SRV_ARGS="--server https://127.0.0.1:$(cat "$TMP/proxy.port") --cacert $TMP/pki/ca.pem --refresh 1"
dash 80 24 reviewer-2
keys 4
expect "slow: the patches through the proxy" '^> #[0-9]+ '
touch "$TMP/slow"
keys ']'
expect "slow: the request shows as working" 'working: patch #[0-9]+' 5
keys '?'
if wait_for '^Keys:' 5 >/dev/null; then
    s=$(screen)
    if echo "$s" | grep -q 'working: patch #'; then pass; else fail "slow: the help opened only after the request"; fi
else
    fail "slow: a key while the request is out"
fi
keys j j j
gone=no
for _ in $(seq 50); do screen | grep -q '^Keys:' || { gone=yes; break; }; sleep 0.1; done
check "slow: j scrolls the help while the request is out" [ $gone = yes ]
keys '?' 1 / stmmac Enter
if wait_for '/stmmac' 5 >/dev/null; then
    if screen | grep -q 'working: patch #'; then pass; else fail "slow: the search waited for the request"; fi
else
    fail "slow: / on CVEs while the request is out"
fi
rm -f "$TMP/slow"
keys 4
expect "slow: the answer lands: the selected patch's detail" '^Patch #[0-9]+ .*state:' 30
sel=$(screen | sed -n 's/^> #\([0-9]*\) .*/\1/p'); shown=$(screen | sed -n 's/^Patch #\([0-9]*\) .*/\1/p')
check "slow: the detail is the patch ] selected" [ -n "$sel" -a "$sel" = "$shown" ]
stop

# ] pressed before the first list came waits for it; the list asked again meanwhile must not
# move the cursor back when it lands (a key then acted on a patch the user had left: P once
# published the wrong one). Each request held 3 s: the list, the list again, then ]'s.
python3 "$SRCDIR/tests/dashboard/slowproxy.py" "$PORT" "$TMP/slow" "$TMP/proxy2.port" 3 &
SERVER_PIDS="$SERVER_PIDS $!"
for _ in $(seq 100); do [ -s "$TMP/proxy2.port" ] && break; sleep 0.1; done
SRV_ARGS="--server https://127.0.0.1:$(cat "$TMP/proxy2.port") --cacert $TMP/pki/ca.pem --refresh 1"
dash 80 24 reviewer-2
touch "$TMP/slow"
keys 4 ']'
second=$(as_ reviewer-2 --json patch list 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[1]["id"])')
expect "slow: ] waits for the list, then selects the second patch" "^> #$second " 30
moved=""
for _ in $(seq 300); do
    s=$(screen)
    cur=$(echo "$s" | sed -n 's/^> #\([0-9]*\) .*/\1/p')
    [ -n "$cur" ] && [ "$cur" != "$second" ] && { moved=$cur; break; }
    echo "$s" | grep -q 'working:' || break
    sleep 0.1
done
check "slow: an older answer leaves the cursor on patch #$second${moved:+ (it moved to #$moved)}" [ -z "$moved" ]
rm -f "$TMP/slow"
expect "slow: its detail follows" "^Patch #$second " 20
stop
stop_server "$PID"
# The captures docs/dashboard.md shows.
if [ -n "${CAPTURE_DIR:-}" ]; then cp "$TMP"/screen-*.txt "$CAPTURE_DIR"/; fi
finish
