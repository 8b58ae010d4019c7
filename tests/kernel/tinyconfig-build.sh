#!/bin/bash
# Acceptance test of the static Kbuild evaluation: build a small 6.1 kernel (tinyconfig plus a
# few options, some as modules) and check that 'tuxtape kernel eval' lists exactly the .c files
# the build compiled, as its .cmd files and archives say (--build-dir). The tree and the build
# are kept in a cache directory so reruns take seconds. Exit 77 (skip) without linux-source-6.1.
set -euo pipefail

TUXTAPE=${TUXTAPE:-tuxtape}
TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
CACHE=${TUXTAPE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tuxtape-tests}/kernel-6.1
JOBS=${JOBS:-$(nproc)}

if [ ! -f "$TARBALL" ]; then
	echo "SKIP: $TARBALL not found: apt-get install linux-source-6.1"
	exit 77
fi
for tool in make gcc flex bison bc xz perl; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: '$tool' is needed to build the test kernel"
		exit 77
	fi
done
for h in /usr/include/libelf.h /usr/include/openssl/ssl.h; do
	if [ ! -f "$h" ]; then
		echo "SKIP: $h is needed to build the test kernel (libelf-dev, libssl-dev)"
		exit 77
	fi
done

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# The source tree, extracted once per tarball.
stamp="$(stat -c '%s %Y' "$TARBALL")"
SRC="$CACHE/linux-source-6.1"
if [ ! -f "$CACHE/source.stamp" ] || [ "$(cat "$CACHE/source.stamp")" != "$stamp" ]; then
	echo "extracting $TARBALL into $CACHE"
	rm -rf "$SRC" "$CACHE/build-tiny"
	tar -C "$CACHE" -xJf "$TARBALL"
	echo "$stamp" >"$CACHE/source.stamp"
fi

# The options on top of tinyconfig: a few built in, a few modules, one composite module.
OPTS="-e 64BIT -e MODULES -e MODULE_UNLOAD -e PRINTK -e BLOCK -e BINFMT_ELF -e BINFMT_SCRIPT
      -e TTY -e PROC_FS -e SYSFS -e TMPFS
      -m EXT2_FS -m MINIX_FS -m ISO9660_FS -m CONFIGFS_FS -m BLK_DEV_LOOP -m LIBCRC32C"
OBJ="$CACHE/build-tiny"
want="$(echo "$OPTS" | tr -s ' \n' ' ')"
if [ ! -f "$OBJ/.tuxtape-done" ] || [ "$(cat "$OBJ/.tuxtape-done")" != "$want" ]; then
	echo "building a tinyconfig kernel in $OBJ (a few minutes)"
	rm -rf "$OBJ"
	mkdir -p "$OBJ"
	make -s -C "$SRC" O="$OBJ" ARCH=x86_64 tinyconfig >/dev/null
	# shellcheck disable=SC2086
	"$SRC/scripts/config" --file "$OBJ/.config" $OPTS
	make -s -C "$SRC" O="$OBJ" ARCH=x86_64 olddefconfig >/dev/null
	make -s -C "$SRC" O="$OBJ" ARCH=x86_64 -j"$JOBS" vmlinux modules >"$OBJ/build.log" 2>&1 || {
		tail -30 "$OBJ/build.log"
		echo "FAIL: the test kernel did not build"
		exit 1
	}
	echo "$want" >"$OBJ/.tuxtape-done"
fi

out="$("$TUXTAPE" kernel eval --source "$SRC" --config "$OBJ/.config" --arch x86_64 \
	--build-dir "$OBJ" --suffix .c --diff)"
echo "$out"
# (here-strings, not pipes: grep -q may exit early and pipefail would count the SIGPIPE)
if ! grep -qx 'precision 100.0000%' <<<"$out" || ! grep -qx 'recall 100.0000%' <<<"$out"; then
	echo "FAIL: static evaluation differs from the build (+ extra, - missing above)"
	exit 1
fi
# Some modules must be in the set, or the test checks less than it claims.
mods="$("$TUXTAPE" kernel eval --build-dir "$OBJ" --source "$SRC" --suffix .c)"
n_mod=$(grep -c $'\tmodule\t' <<<"$mods" || true)
if [ "$n_mod" -lt 5 ]; then
	echo "FAIL: only $n_mod module sources in the build"
	exit 1
fi
echo "1 passed, 0 failed"
