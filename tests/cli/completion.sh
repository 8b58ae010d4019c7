#!/bin/bash
# tuxtape completion bash: the script is valid bash, offers every command of the tables
# (walked from --help, as help.sh does), completes subcommands, options and their arguments
# (files, directories, inventory kernel names), and every option it offers is one the command
# really accepts (getopt would say "unrecognized option").
. "$(dirname "$0")/lib.sh"

S="$TMP/tuxtape.bash"
expect_exit 0 "$TUXTAPE" completion bash
cp "$TMP/out" "$S"
check "the script parses (bash -n)" bash -n "$S"
expect_exit 64 "$TUXTAPE" completion zsh
err_has "only bash is supported"
expect_exit 64 "$TUXTAPE" completion

# complete WORDS... : what the script offers for the last word (may be empty), one per line
complete_words() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tuxtape
             printf "%s\n" "${COMPREPLY[@]}"' _ "$S" "$@"
}
offers() { # offers WANT WORDS... : WANT is among the completions
    want=$1; shift
    if complete_words "$@" | grep -qx -- "$want"; then pass; else
        fail "completing '$*' does not offer '$want' (got: $(complete_words "$@" | tr '\n' ' '))"
    fi
}
offers_not() { # offers_not UNWANTED WORDS...
    unwanted=$1; shift
    if complete_words "$@" | grep -qx -- "$unwanted"; then
        fail "completing '$*' offers '$unwanted'"; else pass; fi
}

# ---- every command of the tables, found the way help.sh walks them ----
n=0
for group in $("$TUXTAPE" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
    offers "$group" tuxtape ""
    for sub in $("$TUXTAPE" "$group" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
        offers "$sub" tuxtape "$group" ""
        n=$((n + 1))
    done
done
[ "$n" -gt 20 ] && pass || fail "only $n subcommands walked"

offers list tuxtape cve l
offers_not sync tuxtape cve l
offers show tuxtape --db "$TMP/x.db" kernel sh
offers show tuxtape --json -q kernel sh
offers --min-score tuxtape cve list --mi
offers --limit tuxtape cve list --kev --li
offers --version tuxtape --v
offers_not --version tuxtape cve list --v
offers --json tuxtape cve list --js
offers_not --min-score tuxtape kernel list --m

# ---- option arguments: files, directories, kernel names ----
mkdir -p "$TMP/dirs/kbuild-a" && : >"$TMP/dirs/kbuild-file"
offers "$TMP/dirs/kbuild-a" tuxtape livepatch build --kbuild "$TMP/dirs/kb"
offers_not "$TMP/dirs/kbuild-file" tuxtape livepatch build --kbuild "$TMP/dirs/kb"
offers "$TMP/dirs/kbuild-file" tuxtape livepatch build --patch "$TMP/dirs/kb"
offers "$TMP/dirs/kbuild-file" tuxtape livepatch build -o "$TMP/dirs/kb"
offers_not list tuxtape cve list --limit l

K="$TMP/linux"
mkdir -p "$K/net"
printf 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 40\n' >"$K/Makefile"
printf 'obj-y += net/\n' >"$K/Kbuild"
mkdir -p "$K/scripts" "$K/arch/x86" && : >"$K/scripts/Makefile.build"
printf "BITS := 64\n" >"$K/arch/x86/Makefile"
printf 'obj-y += dev.o\n' >"$K/net/Makefile"
: >"$K/net/dev.c"
printf 'CONFIG_X86=y\n' >"$TMP/config"
export TUXTAPE_DB="$TMP/db/t.db"
expect_exit 0 "$TUXTAPE" kernel add fleet-k1 --release 6.1.40 --config "$TMP/config" --source "$K"
expect_exit 0 "$TUXTAPE" kernel add fleet-k2 --release 6.1.40 --config "$TMP/config" --source "$K"
PATH="$(dirname "$TUXTAPE"):$PATH"
offers fleet-k1 tuxtape cve list --kernel fleet
offers fleet-k2 tuxtape cve list --kernel fleet
offers_not fleet-k1 tuxtape cve list --kernel other
# the database named on the line, not the default one
expect_exit 0 "$TUXTAPE" --db "$TMP/db2/t.db" kernel add other-k --release 6.1.40 --config "$TMP/config" --source "$K"
offers other-k tuxtape --db "$TMP/db2/t.db" cve list --kernel oth
offers other-k tuxtape --db="$TMP/db2/t.db" livepatch build --kernel ""
offers_not fleet-k1 tuxtape --db "$TMP/db2/t.db" cve list --kernel fl

# ---- every option offered is accepted by its command ----
bad=0 count=0
while IFS= read -r line; do
    path=$(printf '%s' "$line" | sed -n 's/^    "\([^"]*\)") subs="" opts="\([^"]*\)".*/\1/p')
    [ -n "$path" ] || continue
    opts=$(printf '%s' "$line" | sed -n 's/.* opts="\([^"]*\)".*/\1/p')
    for o in $opts; do
        count=$((count + 1))
        # shellcheck disable=SC2086
        "$TUXTAPE" $path "$o" 1 --help >/dev/null 2>"$TMP/err" || true
        if grep -qE 'unrecognized option|invalid option' "$TMP/err"; then
            fail "'tuxtape $path' does not accept '$o', which completion offers"
            bad=$((bad + 1))
        fi
    done
done <"$S"
[ "$count" -gt 100 ] && pass || fail "only $count options checked"
echo "checked $n subcommands and $count options"
finish
