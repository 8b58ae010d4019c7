#!/bin/sh
# Every screen of the real dashboard at 80x24 and 200x60 in tmux, over a database synced from
# the shared CVE records with two kernels: search finds a CVE, filters narrow the list to the
# counts `tuxtape` gives, resizing redraws, NO_COLOR drops colours, a sync runs in the
# background with its progress shown.
. "$(dirname "$0")/lib.sh"
OLD=518d67ad3a5ab7d04ad8240673cd93163e721603
DB="$TMP/db/t.db"
make_db "$DB"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
n_pub=$(tt --json cve list -n 0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
n_all=$(sqlite3 "$DB" "SELECT count(*) FROM cve")
affected() { tt --json cve list -n 0 --kernel "$1" --status affected | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

for size in 80x24 200x60; do
    w=${size%x*}; h=${size#*x}
    start "$w" "$h" --db "$DB"
    expect "$size: loads every published CVE" "$n_pub CVEs, 2 kernels" 60
    check "$size: fills the height" [ "$(screen | wc -l)" = "$h" ]
    expect "$size: tab bar" '^ 1 CVEs  2 Kernels  3 Fleet  4 Patches  5 Exposure  \? Help'
    expect "$size: column header" '^CVE +CVSS SEV +K .*TITLE'
    expect "$size: status shows the count" "$n_pub/$n_all CVEs"
    expect "$size: rows with verdict glyphs" '^CVE-[0-9]{4}-[0-9]+ +[0-9.-]+ +(CRIT|HIGH|MED|LOW|-) .* [Acf.?]{2} '
    screen >"$TMP/cves-$size.txt"
    keys Enter
    expect "$size: detail pane" 'Priority:'
    expect "$size: detail has scores" 'Scores:'
    if [ "$w" -ge 160 ]; then expect "$size: detail beside the list" '^CVE-.*│'; fi
    keys Tab / Verdicts: Enter
    expect "$size: verdict reasons" '(^|│ )Verdicts:' 5
    expect "$size: a reason" '(^|│) +(db|web)-6.1 +(affected|not-compiled|fixed|not-affected|unknown)' 5
    keys q
    keys 2
    expect "$size: kernels" '^1  db-6.1 '
    expect "$size: kernel counts" "web-6.1 .* $(affected web-6.1) "
    keys Enter
    expect "$size: kernel detail" 'Kernel db-6.1'
    expect "$size: how the file set was found" 'files_method: static'
    keys q 3
    expect "$size: fleet without node data says why" 'Run with --server URL'
    expect "$size: fleet lists kernels' exposure" "db-6.1 +$(affected db-6.1) "
    keys 4
    expect "$size: patches" 'press p'
    expect "$size: revisions need a server" 'Revisions, builds and reviews: with a server'
    keys 5
    expect "$size: exposure chart" 'Exposure of db-6.1'
    expect "$size: chart axis" '└─'
    expect "$size: chart bars" '█'
    keys '?'
    expect "$size: help" '^Keys:'
    keys q
    expect "$size: help goes back" 'Exposure of db-6.1'
    for s in 1 2 3 4 5 '?'; do keys "$s"; sleep 0.3; screen >"$TMP/screen-$size-$s.txt"; done
    stop
done

# Search and filters at 80x24.
start 80 24 --db "$DB"
expect "loaded" "$n_pub CVEs, 2 kernels" 60
keys / CVE-2024-26581 Enter
keys Enter
expect "search finds the CVE" '^CVE-2024-26581  published;'
keys q c s
expect "severity filter shown" 'sev:critical'
n_crit=$(tt --json cve list -n 0 | python3 -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if (x["severity"] or "").lower()=="critical"))')
expect "severity filter narrows to the critical CVEs" " $n_crit/$n_all CVEs"
expect_not "only critical rows" '^CVE-[0-9-]+ +[0-9.]+ (HIGH|MED|LOW) '
keys c K v
expect "kernel and verdict filters shown" 'kernel:db-6.1  status:affected'
expect "db-6.1 affected count as tuxtape says" " $(affected db-6.1)/$n_all CVEs"
keys K
expect "web-6.1 affected count as tuxtape says" " $(affected web-6.1)/$n_all CVEs"
keys c F 'net/ipv4/*' Enter
n_file=$(tt --json cve list -n 0 --file 'net/ipv4/*' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect "file filter shown" 'file:net/ipv4/\*'
expect "file filter narrows as tuxtape does" " $n_file/$n_all CVEs"
keys c
expect "c clears" "sev:any  kernel:any  status:any  kev:any  file:-"
expect "c restores the count" " $n_pub/$n_all CVEs"

# Resize redraws at the new size, both ways.
tmux -S "$SOCK" resize-window -t $SESSION -x 120 -y 40
expect "resize: status on the new last line" "^.* $n_pub/$n_all CVEs *$"
check "resize: 40 lines" [ "$(screen | wc -l)" = 40 ]
sleep 0.3
check "resize: status at row 40" row_has 40 "$n_pub/$n_all CVEs"
check "resize: rows fill the new height" row_has 39 '^CVE-'
check "resize: the title column widens" sh -c "tmux -S '$SOCK' capture-pane -p -t $SESSION | grep '^CVE-' | awk 'length > 90' | grep -q ."
tmux -S "$SOCK" resize-window -t $SESSION -x 80 -y 24
sleep 0.3
check "resize back: status at row 24" row_has 24 "$n_pub/$n_all CVEs"
check "resize back: 24 lines" [ "$(screen | wc -l)" = 24 ]
stop

# Colours, and none under NO_COLOR.
start 80 24 --db "$DB"
expect "loaded" "CVEs, 2 kernels" 60
check "colours by default" sh -c "tmux -S '$SOCK' capture-pane -e -p -t $SESSION | grep -q '\[3[1-6]m\|\[3[1-6];'"
stop
DASH_ENV=NO_COLOR=1 start 80 24 --db "$DB"
expect "loaded (NO_COLOR)" "CVEs, 2 kernels" 60
check "NO_COLOR: no colour" sh -c "! tmux -S '$SOCK' capture-pane -e -p -t $SESSION | grep -q '\[3[1-7]m\|\[3[1-7];\|\[4[0-7]m'"
stop

# A sync in the background: the screen keeps answering and shows progress.
make_db "$TMP/old/t.db" $OLD
n_old=$("$TUXTAPE" --db "$TMP/old/t.db" --json cve list -n 0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
start 80 24 --db "$TMP/old/t.db"
expect "old data loaded" "$n_old CVEs, 2 kernels" 60
keys S
expect "sync progress shown" '\[[-|/\\]\] (syncing|fetching|records|verdicts|stats|kernels|CVEs|nodes)' 20
keys 2
expect "keys answered during the sync" '^1  db-6.1 ' 5
expect "sync finished" 'sync: 4b7dbd40c578' 120
keys 1
expect "new data shown" " $n_pub/$n_all CVEs" 10
stop

# Usage errors and a missing database, before the screen starts.
expect_exit 64 "$DASHBOARD" --db x --server https://h
expect_exit 64 "$DASHBOARD" --server https://h
err_has 'needs a token'
expect_exit 1 env TERM=xterm script -qec "$DASHBOARD --db '$TMP/none.db'" /dev/null
expect_exit 0 "$DASHBOARD" --help
finish
