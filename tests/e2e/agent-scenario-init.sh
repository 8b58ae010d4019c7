#!/bin/busybox sh
# /init of the agent's scenarios (agent-crash-test.sh, agent-stall-test.sh,
# workflow-agent-test.sh): the scenario comes from the kernel command line
# (tt.scenario=crash1|crash2|stall|workflow). The archive is served by busybox httpd on
# 127.0.0.1; results go to the second serial port.
. /tt/guest-lib.sh
scenario=
livepatch=
for w in $(cat /proc/cmdline); do
	case $w in
	tt.scenario=*) scenario=${w#tt.scenario=} ;;
	tt.livepatch=*) livepatch=${w#tt.livepatch=} ;;
	esac
done
say "KVER $(uname -r) SCENARIO $scenario"

# The agent's state on the disk image: it survives the crash between the two boots.
if [ "$scenario" = crash1 ] || [ "$scenario" = crash2 ]; then
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
	mount -t ext4 /dev/vda /var/lib/tuxtape-agent || { say "FAIL mount /dev/vda"; bye fail; }
fi
serve /tt/pub
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
workflow)
	# The server the review workflow ran on, its databases handed in by the host: the
	# agent's heartbeat goes to it over TLS, and its state goes back to the host.
	tuxtape-server --listen 127.0.0.1:8443 --tls-cert /tt/pki/server.pem \
		--tls-key /tt/pki/server.key --db /srv/t.db --threads 1 2> /tmp/server.log &
	SERVER=$!
	i=0
	while ! grep -q "listening on" /tmp/server.log && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	run server-start cat /tmp/server.log
	run check1 $A check
	run status1 $A status --json
	run klp1 cat /sys/kernel/livepatch/$livepatch/enabled /sys/kernel/livepatch/$livepatch/transition
	run meminfo1 grep TuxtapeLive /proc/meminfo
	kill $SERVER
	wait $SERVER
	say "SERVER-EXIT $?"
	run server-log cat /tmp/server.log
	say "STATE-BEGIN"
	tar -C /srv -cf - . | base64 > "$R"
	say "STATE-END"
	bye ok
	;;
*)
	say "FAIL unknown scenario '$scenario'"
	bye fail
	;;
esac
