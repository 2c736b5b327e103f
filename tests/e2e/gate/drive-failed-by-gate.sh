#!/bin/bash
# gate/drive-failed-by-gate.sh — the gate marks a drive failed by itself when its backing I/O
# fails (null_blk bad blocks); `offline drive/D` takes the failed drive offline, and it is
# still offline after a restart.
#   tests/vm/run tests/e2e/gate/drive-failed-by-gate.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk
NB=/sys/kernel/config/nullb/nb0

check "daemon starts" start_gate
if nullb nb0 16; then
	check "a volume on it" sh -c "blkgatectl --socket $SOCK drive add nb /dev/nb0 && blkgatectl --socket $SOCK disk create knb nb && blkgatectl --socket $SOCK volume create vnb --disk knb --size 16M"
	VNB=$(dev_of vnb)
	check "I/O works before the fault" dd if="$VNB" of=/dev/null bs=64k count=4 iflag=direct
	echo "+0-32767" >"$NB/badblocks"
	check_not "I/O fails once the backing store fails" dd if="$VNB" of=/dev/null bs=4k count=1 iflag=direct
	sleep 1
	check "the gate marked the drive failed" test "$(json_field "$(ctl --json drive show nb)" status)" = failed
	expect "resource offline of the failed drive" ok offline drive/nb
	check "it is now offline" test "$(json_field "$(ctl --json drive show nb)" status)" = offline
	check "stop" stop_gate
	check "restart" start_gate
	check "drive nb still offline" test "$(json_field "$(ctl --json drive show nb)" status)" = offline
else
	fail "null_blk with configfs could not be set up for the backend-failure check"
fi
summary
