# Shared helpers for the dashboard tests (sourced): a database filled from the shared CVE
# records with two registered kernels (their trees from tests/helpers/fixtures.sh), and a tmux
# session driving the real program.
set -eu
: "${DASHBOARD:?DASHBOARD must name the tuxtape-dashboard binary}"
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
. "$SRCDIR/tests/cli/lib.sh"
. "$SRCDIR/tests/helpers/fixtures.sh"
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed (scripts/packages-extra)" >&2; exit 77; }
BUNDLE=$(shared_data)
SOCK="$TMP/tmux.sock"
N_START=0
SESSION=dash
export LANG=C.UTF-8 LC_ALL=C.UTF-8
trap 'for s in "$TMP"/tmux.*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

# make_kernel_tree DIR RELEASE: a kernel tree the static evaluator reads, some of the records'
# real paths compiled in, netfilter, btrfs and usb behind their CONFIG_ symbols.
make_kernel_tree() {
    fixture_kbuild "$1" "$2" net/core/dev.c net/core/skbuff.c net/core/sock.c net/core/filter.c \
        net/ipv4/tcp.c net/ipv4/tcp_input.c net/ipv4/udp.c net/ipv4/route.c net/ipv6/route.c \
        net/ipv6/addrconf.c net/netfilter/nf_tables_api.c:NF_TABLES fs/ext4/inode.c \
        fs/ext4/super.c fs/btrfs/:BTRFS fs/btrfs/inode.c kernel/bpf/verifier.c \
        kernel/bpf/syscall.c drivers/usb/:USB drivers/usb/core/hub.c
}

# compiles_all_but DB KERNEL TREE FILE...: KERNEL compiles every .c file of TREE but the FILEs,
# or the test ends in failure here: every screen after it shows these kernels' verdicts.
compiles_all_but() {
    (cd "$3" && find . -name '*.c' | sed 's|^\./||' | sort) >"$TMP/tree-files"
    ca_kernel=$2; "$TUXTAPE" --db "$1" kernel files "$ca_kernel" >"$TMP/have-files"
    shift 3
    printf '%s\n' "$@" | sort | comm -23 "$TMP/tree-files" - >"$TMP/want-files"
    if ! diff -u "$TMP/want-files" "$TMP/have-files" >&2; then
        echo "FAIL: kernel $ca_kernel does not compile the files its tree and config say" >&2
        exit 1
    fi
}

# make_db DB: the newest records (or REV) and kernels web-6.1 (6.1.40) and db-6.1 (6.1.100).
make_db() {
    db=$1; rev=${2:-}
    [ -d "$TMP/vulns" ] || git clone -q "$BUNDLE" "$TMP/vulns"
    if [ -n "$rev" ]; then
        "$TUXTAPE" --db "$db" -q cve sync --repo "$TMP/vulns" --rev "$rev" >/dev/null
    else
        "$TUXTAPE" --db "$db" -q cve sync --repo "$TMP/vulns" >/dev/null
    fi
    make_kernel_tree "$TMP/linux-40" 6.1.40
    make_kernel_tree "$TMP/linux-100" 6.1.100
    fixture_kernel_config "$TMP/config-web" CONFIG_NF_TABLES=y CONFIG_USB=y
    fixture_kernel_config "$TMP/config-db" CONFIG_BTRFS=y
    "$TUXTAPE" --db "$db" -q kernel add web-6.1 --release 6.1.40-web --config "$TMP/config-web" \
        --source "$TMP/linux-40" >/dev/null
    "$TUXTAPE" --db "$db" -q kernel add db-6.1 --release 6.1.100-db --config "$TMP/config-db" \
        --source "$TMP/linux-100" >/dev/null
    compiles_all_but "$db" web-6.1 "$TMP/linux-40" fs/btrfs/inode.c
    compiles_all_but "$db" db-6.1 "$TMP/linux-100" net/netfilter/nf_tables_api.c \
        drivers/usb/core/hub.c
}

# start W H ARGS...: the dashboard in a fresh tmux session of W x H.
start() {
    w=$1; h=$2; shift 2
    tmux -S "$SOCK" kill-server 2>/dev/null || true
    N_START=$((N_START + 1)); SOCK="$TMP/tmux.$N_START.sock" # a fresh server each time
    tmux -S "$SOCK" -f /dev/null new-session -d -s $SESSION -x "$w" -y "$h" \
        "env LANG=C.UTF-8 TERM=screen-256color ${DASH_ENV:-} $DASHBOARD $*; echo EXITED \$?; sleep 30"
    tmux -S "$SOCK" set-option -t $SESSION status off >/dev/null
    tmux -S "$SOCK" resize-window -t $SESSION -x "$w" -y "$h" 2>/dev/null || true
}
screen() { tmux -S "$SOCK" capture-pane -p -t $SESSION; }
keys() { tmux -S "$SOCK" send-keys -t $SESSION "$@"; }
# wait_for PATTERN [SECONDS]: until the screen shows PATTERN (grep -E), at most SECONDS.
wait_for() {
    pat=$1; limit=${2:-20}; i=0
    while [ $i -lt $((limit * 20)) ]; do
        if screen | grep -qE -- "$pat"; then return 0; fi
        sleep 0.05; i=$((i + 1))
    done
    echo "    timed out waiting for /$pat/; screen:" >&2; screen | sed 's/^/    | /' >&2
    return 1
}
# expect DESCRIPTION PATTERN [SECONDS]
expect() { if wait_for "$2" "${3:-10}"; then pass; else fail "$1"; fi; }
expect_not() { # expect_not DESCRIPTION PATTERN: checked after the screen settles
    sleep 0.3
    if screen | grep -qE -- "$2"; then fail "$1"; screen | sed 's/^/    | /'; else pass; fi
}
row_has() { screen | sed -n "$1p" | grep -qE -- "$2"; } # row_has N PATTERN
# The first CVE row's id.
first_row() { screen | sed -n '4p' | awk '{print $1}'; }
stop() { keys Q; wait_for '^EXITED 0' 10 >/dev/null || fail "the dashboard did not exit"; tmux -S "$SOCK" kill-server 2>/dev/null || true; }
