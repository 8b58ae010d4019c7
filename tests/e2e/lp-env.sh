# Sourced by the livepatch e2e tests: finds the Debian kernel packages the tests need and
# sets KVER, KBUILD, CONFIG, TARBALL, VMLINUZ; exits 77 (skip) naming what is missing.
# TT_KVER picks a kernel when several are installed.

tt_skip() { echo "SKIP: $*" >&2; exit 77; }

command -v qemu-system-x86_64 > /dev/null || tt_skip "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
KVER=${TT_KVER:-}
if [ -z "$KVER" ]; then
	for v in $(ls /boot/vmlinuz-* 2> /dev/null | sed 's|.*/vmlinuz-||' | sort -rV); do
		if [ -d "/lib/modules/$v/build" ] && [ -r "/boot/config-$v" ]; then KVER=$v; break; fi
	done
fi
[ -n "$KVER" ] || tt_skip "no kernel with headers (apt-get install linux-image-amd64 linux-headers-amd64)"
VMLINUZ=/boot/vmlinuz-$KVER
KBUILD=/lib/modules/$KVER/build
CONFIG=/boot/config-$KVER
[ -r "$KBUILD/Module.symvers" ] || tt_skip "$KBUILD/Module.symvers missing (apt-get install linux-headers-$KVER)"
TARBALL=$(ls /usr/src/linux-source-*.tar.xz 2> /dev/null | sort -V | tail -n1)
[ -n "$TARBALL" ] || tt_skip "no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.1)"
# The source must be the very version the image was built from.
src_pkg=$(dpkg-query -S "$TARBALL" 2> /dev/null | cut -d: -f1)
img_ver=$(dpkg-query -W -f='${Version}' "linux-image-$KVER" 2> /dev/null ||
	  dpkg-query -W -f='${Version}' "linux-image-$KVER-unsigned" 2> /dev/null)
src_ver=$(dpkg-query -W -f='${Version}' "$src_pkg" 2> /dev/null)
if [ -n "$img_ver" ] && [ -n "$src_ver" ] && [ "$img_ver" != "$src_ver" ]; then
	tt_skip "linux-image-$KVER is $img_ver but $src_pkg is $src_ver; install matching versions"
fi
for t in make gcc patch tar cpio flex bison bc; do
	command -v $t > /dev/null || tt_skip "'$t' missing"
done
export KVER VMLINUZ KBUILD CONFIG TARBALL
