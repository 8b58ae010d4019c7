# Sourced by the /init of the agent's e2e initramfs (agent-guest-init.sh,
# agent-scenario-init.sh), where agent-lib.sh's agent_initrd puts it as /tt/guest-lib.sh:
# busybox, the pseudo file systems, loopback (the guest has no network device), the kernel
# modules listed in /tt/modules, and the report protocol on the second serial port.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /var/lib/tuxtape-agent
mount -t tmpfs tmp /tmp
ifconfig lo 127.0.0.1 up
R=/dev/ttyS1
say() { echo "@@TT $*" > "$R"; }
# run STEP COMMAND...: the command's output between OUT-BEGIN STEP and OUT-END rc=N
run() {
	say "OUT-BEGIN $1"
	shift
	"$@" > /tmp/out 2>&1
	rc=$?
	cat /tmp/out > "$R"
	say "OUT-END rc=$rc"
}
# bye ok|fail: the kernel log, DONE, and power off
bye() {
	say "DMESG-BEGIN"
	dmesg > "$R"
	say "DMESG-END"
	say "DONE $1"
	sync
	poweroff -f
	sleep 30
}
# serve DIR: busybox httpd on 127.0.0.1:8080 (the agent's archive_url), replacing the last one
HTTPD=
serve() {
	[ -n "$HTTPD" ] && kill "$HTTPD" 2> /dev/null && sleep 1
	httpd -f -p 127.0.0.1:8080 -h "$1" &
	HTTPD=$!
	sleep 1
}
# The kernel modules a scenario needs (virtio_blk, ext4 and their dependencies), in order.
if [ -s /tt/modules ]; then
	while read -r m; do
		# crc32c-intel needs SSE4.2, which qemu's TCG CPU may lack: crc32c_generic serves
		insmod "$m" 2> /tmp/insmod.err || say "insmod $m: $(cat /tmp/insmod.err)"
	done < /tt/modules
fi
