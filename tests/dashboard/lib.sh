# Shared helpers for the dashboard tests (sourced): a database filled from the shared CVE
# records with two registered kernels, and a tmux session driving the real program.
set -eu
: "${DASHBOARD:?DASHBOARD must name the tuxtape-dashboard binary}"
: "${TUXTAPE:?TUXTAPE must name the tuxtape binary}"
. "$SRCDIR/tests/cli/lib.sh"
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed (scripts/packages-extra)" >&2; exit 77; }
BUNDLE=$(shared_data)
SOCK="$TMP/tmux.sock"
N_START=0
SESSION=dash
export LANG=C.UTF-8 LC_ALL=C.UTF-8
trap 'for s in "$TMP"/tmux.*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done; rm -rf "$TMP"' EXIT

# A kernel tree the static evaluator reads: a few real paths compiled in, one left out.
make_kernel_tree() { # DIR VERSION-SUBLEVEL
    K=$1
    put() { mkdir -p "$(dirname "$K/$1")"; printf "$2" >"$K/$1"; }
    put Makefile "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = $2\ncore-y :=\ndrivers-y :=\ninclude \$(srctree)/arch/\$(SRCARCH)/Makefile\nexport ARCH_DRIVERS := \$(drivers-y)\n"
    put Kbuild 'obj-y += net/ fs/ kernel/ drivers/ arch/$(SRCARCH)/\n'
    put scripts/Makefile.build '# not read\n'
    put arch/x86/Makefile 'BITS := 64\n'
    put arch/x86/Kbuild 'obj-y += kernel/\n'
    put arch/x86/kernel/Makefile 'obj-y += setup.o\n'
    put arch/x86/kernel/setup.c ''
    put net/Makefile 'obj-y += core/ ipv4/ ipv6/ netfilter/\n'
    put net/core/Makefile 'obj-y += dev.o skbuff.o sock.o filter.o\n'
    put net/ipv4/Makefile 'obj-y += tcp.o tcp_input.o udp.o route.o\n'
    put net/ipv6/Makefile 'obj-y += route.o addrconf.o\n'
    put net/netfilter/Makefile 'obj-$(CONFIG_NF_TABLES) += nf_tables_api.o\n'
    put fs/Makefile 'obj-y += ext4/\nobj-$(CONFIG_BTRFS) += btrfs/\n'
    put fs/ext4/Makefile 'obj-y += inode.o super.o\n'
    put fs/btrfs/Makefile 'obj-y += inode.o\n'
    put kernel/Makefile 'obj-y += bpf/\n'
    put kernel/bpf/Makefile 'obj-y += verifier.o syscall.o\n'
    put drivers/Makefile 'obj-$(CONFIG_USB) += usb/\n'
    put drivers/usb/Makefile 'obj-y += core/\n'
    put drivers/usb/core/Makefile 'obj-y += hub.o\n'
    for f in net/core/dev net/core/skbuff net/core/sock net/core/filter net/ipv4/tcp \
             net/ipv4/tcp_input net/ipv4/udp net/ipv4/route net/ipv6/route net/ipv6/addrconf \
             net/netfilter/nf_tables_api fs/ext4/inode fs/ext4/super fs/btrfs/inode \
             kernel/bpf/verifier kernel/bpf/syscall drivers/usb/core/hub; do put "$f.c" ''; done
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
    make_kernel_tree "$TMP/linux-40" 40
    make_kernel_tree "$TMP/linux-100" 100
    printf 'CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_NF_TABLES=y\nCONFIG_USB=y\n' >"$TMP/config-web"
    printf 'CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_BTRFS=y\n' >"$TMP/config-db"
    "$TUXTAPE" --db "$db" -q kernel add web-6.1 --release 6.1.40-web --config "$TMP/config-web" \
        --source "$TMP/linux-40" >/dev/null
    "$TUXTAPE" --db "$db" -q kernel add db-6.1 --release 6.1.100-db --config "$TMP/config-db" \
        --source "$TMP/linux-100" >/dev/null
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
