#!/bin/busybox sh
# /init of the e2e test initramfs: runs one livepatch scenario (or dumps
# /proc/kallsyms) as described by /tt/test.conf, reports on the second serial
# port so the kernel console never interleaves with results, then powers off.

/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

R=/dev/ttyS1
MODE=livepatch
CMD=true
MOD=
NAME=
TARGET=
TARGET_WHEN=
PRE=
WAIT=60
. /tt/test.conf

say() { echo "@@TT $*" > "$R"; }

bye() {
	say "DMESG-BEGIN"
	dmesg > "$R"
	say "DMESG-END"
	say "DONE $1"
	sync
	poweroff -f
	sleep 30
}

run_phase() {
	say "OUT-BEGIN $1"
	sh -c "$CMD" > /tmp/out 2>&1
	rc=$?
	cat /tmp/out > "$R"
	say "OUT-END $1 rc=$rc"
}

# Waits until the patch's sysfs files say $2 (enabled) with no transition
# pending, or, with $2 = gone, until the patch's directory has gone.
wait_state() {
	d=/sys/kernel/livepatch/$1
	i=0
	while [ $i -lt $((WAIT * 10)) ]; do
		if [ "$2" = gone ]; then
			[ -d "$d" ] || return 0
		elif [ -r "$d/transition" ] && [ "$(cat $d/transition)" = 0 ] &&
			[ "$(cat $d/enabled)" = "$2" ]; then
			return 0
		fi
		usleep 100000
		i=$((i + 1))
	done
	return 1
}

if [ "$MODE" = kallsyms ]; then
	# Raw mode so the gzip stream crosses the serial line untouched.
	say "KALLSYMS $(uname -r)"
	stty -F "$R" raw -echo
	gzip -1 < /proc/kallsyms > "$R"
	sync
	poweroff -f
	sleep 30
fi

say "KVER $(uname -r)"
for m in $PRE; do
	insmod "$m" || { say "FAIL insmod $m"; bye fail; }
done
# A module the livepatch patches: loaded first, or once the livepatch is enabled.
if [ -n "$TARGET" ] && [ "$TARGET_WHEN" = before ]; then
	insmod "$TARGET" || { say "FAIL insmod target"; bye fail; }
	say "TARGET-LOADED"
fi
run_phase before

if ! insmod "$MOD"; then
	say "FAIL insmod"
	bye fail
fi
if ! wait_state "$NAME" 1; then
	say "FAIL enable-transition $(cat /sys/kernel/livepatch/$NAME/transition 2>&1)"
	bye fail
fi
say "ENABLED"
if [ -n "$TARGET" ] && [ "$TARGET_WHEN" = after ]; then
	run_phase enabled
	insmod "$TARGET" || { say "FAIL insmod target"; bye fail; }
	say "TARGET-LOADED"
	# patching a module as it loads starts a transition of its own
	wait_state "$NAME" 1 || { say "FAIL target-transition"; bye fail; }
fi
run_phase after

echo 0 > "/sys/kernel/livepatch/$NAME/enabled"
if ! wait_state "$NAME" gone; then
	say "FAIL disable-transition"
	bye fail
fi
i=0
until rmmod "$NAME" 2> /tmp/rmmod.err; do
	i=$((i + 1))
	if [ $i -ge 50 ]; then
		say "FAIL rmmod $(cat /tmp/rmmod.err)"
		bye fail
	fi
	usleep 100000
done
say "UNLOADED"
run_phase unload
bye ok
