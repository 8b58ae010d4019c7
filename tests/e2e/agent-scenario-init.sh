#!/bin/busybox sh
# /init of the agent's crash and stall scenarios (agent-crash-test.sh, agent-stall-test.sh):
# the scenario comes from the kernel command line (tt.scenario=crash1|crash2|stall). The
# archive is served by busybox httpd on 127.0.0.1; results go to the second serial port.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /var/lib/tuxtape-agent
mount -t tmpfs tmp /tmp
ifconfig lo 127.0.0.1 up
R=/dev/ttyS1
say() { echo "@@TT $*" > "$R"; }
run() {
	say "OUT-BEGIN $1"
	shift
	"$@" > /tmp/out 2>&1
	rc=$?
	cat /tmp/out > "$R"
	say "OUT-END rc=$rc"
}
bye() {
	say "DMESG-BEGIN"
	dmesg > "$R"
	say "DMESG-END"
	say "DONE $1"
	sync
	poweroff -f
	sleep 30
}
scenario=
for w in $(cat /proc/cmdline); do
	case $w in tt.scenario=*) scenario=${w#tt.scenario=} ;; esac
done
say "KVER $(uname -r) SCENARIO $scenario"

# The kernel modules the scenario needs (virtio_blk, ext4 and their dependencies), in order.
if [ -s /tt/modules ]; then
	while read -r m; do
		# crc32c-intel needs SSE4.2, which qemu's TCG CPU may lack: crc32c_generic serves
		insmod "$m" 2> /tmp/insmod.err || say "insmod $m: $(cat /tmp/insmod.err)"
	done < /tt/modules
fi
# The agent's state on the disk image: it survives the crash between the two boots.
if [ "$scenario" = crash1 ] || [ "$scenario" = crash2 ]; then
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
	mount -t ext4 /dev/vda /var/lib/tuxtape-agent || { say "FAIL mount /dev/vda"; bye fail; }
fi
httpd -f -p 127.0.0.1:8080 -h /tt/pub &
sleep 1
A="tuxtape-agent -v --config /tt/agent.conf"

case $scenario in
crash1)
	run check1 $A check
	run status1 $A status --json
	sync
	say "CRASHING"
	# The node dies right after the load: no clean stop, no shutdown.
	echo c > /proc/sysrq-trigger
	sleep 30
	say "FAIL still alive"
	bye fail
	;;
crash2)
	run boot_id cat /proc/sys/kernel/random/boot_id
	run check2 $A check
	run status2 $A status --json
	run klp2 ls /sys/kernel/livepatch
	run check2b $A check
	run clear2 $A clear
	run check3 $A check
	run status3 $A status --json
	bye ok
	;;
stall)
	# A stopped process sleeps in do_signal_stop(), the function the patch replaces: it is
	# not woken by the livepatch's fake signal (that wakes only interruptible sleeps), so
	# the transition cannot finish until it is continued.
	sleep 1000 &
	STOPPED=$!
	kill -STOP $STOPPED
	usleep 500000
	run stopped cat /proc/$STOPPED/stat
	say "STOPPED-PID $STOPPED"
	run check1 $A check
	run status1 $A status --json
	run klp1 ls /sys/kernel/livepatch
	run lsmod1 lsmod
	kill -CONT $STOPPED
	kill $STOPPED
	bye ok
	;;
*)
	say "FAIL unknown scenario '$scenario'"
	bye fail
	;;
esac
