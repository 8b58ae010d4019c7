#!/bin/sh
# Every key the help screen lists does what it says, in the real dashboard in tmux at 80x24
# over the shared CVE records and two kernels. The help's key column must match the keys
# tested here, so a key added to the help without a test fails.
. "$(dirname "$0")/lib.sh"
DB="$TMP/db/t.db"
make_db "$DB"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
tt --json cve list -n 0 | python3 -c '
import json,sys
for x in json.load(sys.stdin): print(x["id"], x["title"].replace(" ", "_")[:60])' >"$TMP/ids"
N=$(wc -l <"$TMP/ids")
id_at() { sed -n "$(($1 + 1))p" "$TMP/ids" | cut -d' ' -f1; }
n_all=$(sqlite3 "$DB" "SELECT count(*) FROM cve")

# expect_sel DESCRIPTION INDEX: Enter opens the detail of the CVE at INDEX; q closes it.
expect_sel() {
    keys Enter
    expect "$1 (row $2: $(id_at "$2"))" "^$(id_at "$2")  published;" 5
    keys q
    wait_for '^CVE +CVSS' 5 >/dev/null && sleep 0.1
    expect_not "$1: q closes the detail" 'Priority:'
}

start 80 24 --db "$DB"
expect "loaded" "$N CVEs, 2 kernels" 60

# The help's first column, against the keys this script tests.
keys '?'
expect "help" '^Keys:'
# Read the whole help a few lines at a time (it scrolls at 80x24).
: >"$TMP/help-keys.raw"
for i in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.2
    screen | awk '/^Verdict glyphs/ { exit } { print }' >>"$TMP/help-keys.raw"
    keys j j j j j
done
sed -n 's/^  \([^ ].\{0,17\}\) .*/\1/p' "$TMP/help-keys.raw" | sed 's/ *$//' | grep -v '^$' | sort -u >"$TMP/help-keys"
keys g
cat >"$TMP/tested-keys" <<'KEYS'
/
1 2 3 4 5
?
c
Ctrl-L
Enter
F
g G Home End
h l Left Right
j k Down Up
K
mouse
n N
p
PgDn PgUp Space b
q
Q
r
R
s
S
T
Tab
v
x
[ ]
a
d
e
L
P
W
KEYS
sort -u "$TMP/tested-keys" -o "$TMP/tested-keys"
if cmp -s "$TMP/help-keys" "$TMP/tested-keys"; then pass; else
    fail "every key on the help screen is tested here"; diff "$TMP/help-keys" "$TMP/tested-keys" || true
fi
keys q
expect "q leaves the help" '^CVE +CVSS'

# ? again also leaves it.
keys 2 '?'
expect "? from Kernels" '^Keys:'
keys '?'
expect "? again goes back to Kernels" '^1  db-6.1 '

# 1-5 switch screens.
keys 1; expect "1: CVEs" '^CVE +CVSS'
keys 2; expect "2: Kernels" '^#  KERNEL'
keys 3; expect "3: Fleet" '^Fleet: no node data'
keys 4; expect "4: Patches" '^Patches'
keys 5; expect "5: Exposure" '^Exposure of'
keys 1

# Moving: j k Down Up, PgDn PgUp Space b, g G Home End (page = 20 rows - 1).
expect_sel "first row selected" 0
keys j; expect_sel "j" 1
keys k; expect_sel "k" 0
keys Down Down; expect_sel "Down" 2
keys Up; expect_sel "Up" 1
keys PgDn; expect_sel "PgDn" 20
keys PgUp; expect_sel "PgUp" 1
keys Space; expect_sel "Space" 20
keys b; expect_sel "b" 1
keys G; expect_sel "G" $((N - 1))
keys g; expect_sel "g" 0
keys End; expect_sel "End" $((N - 1))
keys Home; expect_sel "Home" 0

# Enter opens the detail; Tab moves into it (j then scrolls the text, not the list) and back.
keys Enter
expect "Enter opens the detail" '^Priority:'
keys Tab j j j
expect_not "Tab: j scrolls the detail" "^$(id_at 0)  published;"
expect "Tab: the list stays" "^$(id_at 0) "
keys Tab j
expect "Tab again: j moves the list, the detail follows" "^$(id_at 1)  published;"
keys q
keys g

# / search, n next, N previous.
m1=$(grep -n -i stmmac "$TMP/ids" | sed -n 1p | cut -d: -f1); m2=$(grep -n -i stmmac "$TMP/ids" | sed -n 2p | cut -d: -f1)
keys / stmmac Enter
expect "/ shows the search" '/stmmac'
expect_sel "/ finds the first match" $((m1 - 1))
keys n; expect_sel "n: next match" $((m2 - 1))
keys N; expect_sel "N: previous match" $((m1 - 1))
keys / nosuchthingatall Enter
expect "/ says when nothing matches" 'not found: nosuchthingatall'
keys / Escape
expect "Esc cancels the prompt" 'cancelled'

# Filters: s K v x R F c.
keys s; expect "s: critical" 'sev:critical'
keys s; expect "s: high" 'sev:high'
keys s s s; expect "s: none" 'sev:none'
keys s; expect "s: back to any" 'sev:any'
keys K; expect "K: first kernel" 'kernel:db-6.1'
keys K; expect "K: second kernel" 'kernel:web-6.1'
keys v; expect "v: affected" 'status:affected'
expect "v: only affected rows for web-6.1" "^CVE-[0-9-]+ .* .A "
keys v; expect "v: not-compiled" 'status:not-compiled'
keys v v v; expect "v: unknown" 'status:unknown'
keys v; expect "v: back to any" 'status:any'
keys K; expect "K: back to any" 'kernel:any'
keys x; expect "x: KEV only" 'kev:only'
expect "x: no KEV data here, so nothing" 'no CVE passes the filters'
keys x; expect "x: off" 'kev:any'
keys R; expect "R: rejected too" '\+rejected'
expect "R: every CVE" " $n_all/$n_all CVEs"
keys R
keys F 'fs/ext4/*' Enter
expect "F: file glob" 'file:fs/ext4/\*'
n_ext4=$(tt --json cve list -n 0 --file 'fs/ext4/*' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect "F: narrows to the glob's CVEs" " $n_ext4/$n_all CVEs"
keys F C-u BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace Enter
expect "F with an empty glob clears it" 'file:-'
keys s K v x
keys c
expect "c clears every filter" 'sev:any  kernel:any  status:any  kev:any  file:-'
expect "c: every published CVE" " $N/$n_all CVEs"

# p: the raw fix; without a linux repository the Patches screen says what to give.
keys p
expect "p opens Patches for the selected CVE" "Raw fix of $(id_at 0) for"
expect "p without a linux repository says so" 'No linux repository'
keys q
expect "q from Patches goes to CVEs" '^CVE +CVSS'

# T: triage to a server patch; with --db it says it needs a server and stays (workflow.sh
# drives it against one).
keys T
expect "T without a server says it needs one" '^triage: needs a server \(--server URL\)'
expect "T without a server stays on CVEs" '^CVE +CVSS'

# The review workflow's keys on Patches are the server's (tests/dashboard/workflow.sh drives
# them there); with --db each says it needs one.
keys 4
for k in '[' ']' d e s a c x P W L; do
    keys "$k"
    expect "Patches: $k without a server says it needs one" 'needs a server \(--server URL\)'
    keys 1 4
done
keys 1

# h l Left Right on Exposure.
keys 5; expect "Exposure starts at the first kernel" 'Exposure of db-6.1'
keys l; expect "l: next kernel" 'Exposure of web-6.1'
keys h; expect "h: previous kernel" 'Exposure of db-6.1'
keys Right; expect "Right: next kernel" 'Exposure of web-6.1'
keys Left; expect "Left: previous kernel" 'Exposure of db-6.1'
keys 1

# r reloads, S syncs (nothing new), Ctrl-L redraws.
keys r; expect "r reloads" 'loaded in' 30
keys S; expect "S syncs in the background" 'sync: up to date' 60
tmux -S "$SOCK" send-keys -t $SESSION -l "$(printf 'garbage')"
keys C-l; expect "Ctrl-L redraws" '^CVE +CVSS'

# The mouse: a click on a tab (X10 mouse bytes as the terminal sends them), the wheel.
click() { # click X Y (0-based)
    # Press and release in one write: two writes can land more than the dashboard's 200 ms
    # click interval apart on a busy machine, and then they are no click.
    local x y
    x="\\0$(printf %o $(($1 + 33)))" y="\\0$(printf %o $(($2 + 33)))"
    tmux -S "$SOCK" send-keys -t $SESSION -l "$(printf '\033[M %b%b\033[M#%b%b' "$x" "$y" "$x" "$y")"
}
click 10 0; expect "mouse: a click on the Kernels tab" '^#  KERNEL'
click 2 0; expect "mouse: a click on the CVEs tab" '^CVE +CVSS'
# On a loaded machine the list may still be settling (a reload resets the cursor): try the
# click up to three times; a dashboard that ignores clicks fails all three.
want="^$(id_at 2)  published;" clicked=no
for _ in 1 2 3; do
    sleep 0.5; click 5 5; sleep 0.5
    screen | grep -qE -- "$want" || keys Enter
    if wait_for "$want" 5 2> /dev/null; then clicked=yes; break; fi
done
[ $clicked = yes ] && pass || { fail "mouse: a click selects a row"; screen | sed 's/^/    | /' >&2; }
keys q

# q quits from CVEs; Q quits from anywhere.
keys q
expect "q on CVEs quits" '^EXITED 0' 10
start 80 24 --db "$DB"
expect "loaded" "$N CVEs" 60
keys 3 Q
expect "Q quits at once" '^EXITED 0' 10
finish
