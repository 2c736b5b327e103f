#!/bin/bash
# recovery/handover-under-load.sh — a planned handover loses nothing: while fio writes and
# verifies (crc32c) on a volume, `blkgatectl shutdown --keep-devices` stops the daemon leaving
# its device, requests wait, the next blkgate recovers it (same /dev/ublkbN), and fio finishes
# with zero errors. A second handover works the same way (recoveries: 2).
#   tests/vm/run tests/e2e/recovery/handover-under-load.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=crash-helpers.bash
. "$(dirname "$0")/crash-helpers.bash"
require fio
FPID=

# handover N: shutdown --keep-devices, wait for the daemon to exit, start the next one;
# false when the next one did not come up (the script then ends: nothing later could pass).
handover() {
	local out rc
	out=$(ctl shutdown --keep-devices 2>&1)
	check "handover $1: shutdown --keep-devices answers ($out)" \
		sh -c "echo '$out' | grep -q 'is stopping; its devices will be kept'"
	wait "$GPID"
	rc=$?
	GPID=
	check "handover $1: the old daemon exits 0 (exit $rc)" test "$rc" = 0
	check "handover $1: the device stays" test -b "$V0"
	check "handover $1: fio keeps waiting, no error" kill -0 "$FPID"
	# shellcheck disable=SC2119 # no daemon arguments
	if ! start_gate; then
		fail "handover $1: the next daemon starts"
		[ -z "$GPID" ] || kill -KILL "$GPID"
		GPID=
		return 1
	fi
	pass "handover $1: the next daemon starts"
	check "handover $1: the same device ($V0)" test "$(dev_of v0)" = "$V0"
}

gate_with_v0 160M --size 128M --queues 2
fio --name=load --filename="$V0" --size=128M --bs=4k --rw=randwrite --ioengine=libaio \
	--iodepth=32 --direct=1 --verify=crc32c --verify_fatal=1 --verify_backlog=512 \
	--numjobs=1 >"$W/fio.log" 2>&1 &
FPID=$!
sleep 2
check "fio is writing" kill -0 "$FPID"
handover 1 || summary
sleep 1
handover 2 || summary
check "the log says how the device was left" grep -q "left for the next daemon" "$W/gate.log"
check "volume show counts two recoveries" sh -c "blkgatectl --json volume show v0 | grep -q '\"recoveries\":2'"
wait "$FPID"
rc=$?
FPID=
check "fio finished with zero errors (exit $rc)" test "$rc" = 0
check "fio reported no verify failure" sh -c "! grep -qiE 'verify failed|bad magic|bad header' '$W/fio.log'"
expect "shutdown without --keep-devices: the clean stop" ok shutdown
wait "$GPID"
rc=$?
GPID=
check "the daemon exits 0 (exit $rc)" test "$rc" = 0
check "... and deletes its devices" no_ublk_devices
summary
