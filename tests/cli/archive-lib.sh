# Helpers for the archive tests (sourced after lib.sh): fake livepatch modules, tree digests.

# mk_ko OUT NAME VERMAGIC [livepatch]: a relocatable ELF object with a .modinfo section, as
# modpost leaves in a .ko; the fourth argument "no" leaves out livepatch=Y, "novermagic" the
# vermagic.
mk_ko() {
    out=$1; name=$2; vermagic=$3; lp=${4:-yes}
    [ -f "$TMP/ko-base.o" ] ||
        echo 'int tt_lp_fn(void) { return 42; }' | gcc -c -x c - -o "$TMP/ko-base.o"
    {
        printf 'name=%s\0' "$name"
        [ "$lp" = novermagic ] || printf 'vermagic=%s SMP preempt mod_unload modversions \0' "$vermagic"
        [ "$lp" = no ] || printf 'livepatch=Y\0'
        printf 'license=GPL\0'
    } >"$TMP/modinfo.bin"
    objcopy --add-section .modinfo="$TMP/modinfo.bin" --set-section-flags .modinfo=alloc,readonly \
        "$TMP/ko-base.o" "$out"
}

# tree_sum DIR: one digest of every file's path, mode and bytes (the lock file aside).
tree_sum() {
    (cd "$1" && find . -path ./.lock -prune -o -printf '%p %m %s\n' | LC_ALL=C sort &&
        find . -type f ! -name .lock -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum
}
