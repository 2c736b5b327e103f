#!/bin/bash
# hardening/sigterm-during-long-hook.sh — backend errors are handled off the main thread: while
# a 15 s pre-offline hook holds the control lock and a backing store (null_blk bad blocks) has
# just failed, SIGTERM is still taken at once (logged within 3 s), and the daemon stops once
# the call ends; the failed drive is marked failed after the hook, by the backend-error thread.
# (Before: the main thread waited for the control lock to mark the drive, so it read the
# signal only when the hook ended.)
#   tests/vm/run tests/e2e/hardening/sigterm-during-long-hook.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk
NB=/sys/kernel/config/nullb/nbh

mkdir -p "$STATE/hooks"
cat >"$STATE/hooks/10-slow" <<HOOK
#!/bin/sh
[ "\$BLKGATE_EVENT/\$BLKGATE_NAME" = pre-offline/vslow ] || exit 0
touch $W/hook.started
sleep 15
exit 0
HOOK
chmod 0755 "$STATE/hooks/10-slow"

check "daemon starts" start_gate --hook-timeout 30
nullb nbh 16 || {
	fail "null_blk with configfs could not be set up"
	summary
}
check "a volume on null_blk" sh -c "ctl() { blkgatectl --socket $SOCK \"\$@\"; }; ctl drive add nb /dev/nbh && ctl disk create knb nb && ctl volume create vnb --disk knb --size 16M"
check "a volume with a slow hook" mkvol vslow 32M
VNB=$(dev_of vnb)
check "I/O works before the fault" dd if="$VNB" of=/dev/null bs=64k count=4 iflag=direct

ctl volume offline vslow >"$W/offline.out" 2>&1 &
OFF=$!
for ((i = 0; i < 200; i++)); do [ -e "$W/hook.started" ] && break; sleep 0.05; done
check "the slow hook runs (it holds the control lock)" test -e "$W/hook.started"
echo "+0-32767" >"$NB/badblocks"
check_not "I/O fails once the backing store fails" dd if="$VNB" of=/dev/null bs=4k count=1 iflag=direct
sleep 1 # the queue thread has reported the error; marking the drive waits for the lock

# uptime_ms: the clock, in ms (/proc/uptime; the VM's date has no %N).
uptime_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
kill -TERM "$GPID"
T0=$(uptime_ms)
took=
for ((i = 0; i < 300; i++)); do
	if grep -q "caught .*stopping" "$W/gate.log"; then
		took=$(($(uptime_ms) - T0))
		break
	fi
	sleep 0.05
done
check "SIGTERM is taken at once during the hook (${took:-never} ms)" test -n "$took" -a "${took:-99999}" -lt 3000
wait "$OFF"
check "the daemon stops once the call has ended" stop_gate
check "the failed drive was marked failed meanwhile" grep -q "drive nb failed" "$W/gate.log"
summary
