#!/bin/bash
# live/monitor-backend-error.sh — a drive whose backing I/O fails (null_blk bad blocks) is
# reported by `blkgatectl monitor` as failed by a backend error, with its disk and volume.
#   tests/vm/run tests/e2e/live/monitor-backend-error.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk

check "daemon starts" start_gate
nullb nb0 16 || skip "needs null_blk with configfs"
NB=/sys/kernel/config/nullb/nb0
check "a volume on it" sh -c "blkgatectl --socket $SOCK drive add nb /dev/nb0 && blkgatectl --socket $SOCK disk create knb nb && blkgatectl --socket $SOCK volume create vnb --disk knb --size 16M"
VNB=$(dev_of vnb)
check "monitor subscribes" monitor_start "$W/events" --count 3
echo "+0-32767" >"$NB/badblocks"
check_not "I/O fails once the backing store fails" dd if="$VNB" of=/dev/null bs=4k count=1 iflag=direct
check "monitor saw 3 events and exited" monitor_wait
note "$(cat "$W/events")"
check "the drive: online -> failed, by a backend error" grep -q " drive/nb online -> failed (backend-error)$" "$W/events"
check "its disk" grep -q " disk/knb online -> failed (backend-error)$" "$W/events"
check "its volume" grep -q " volume/vnb online -> failed (backend-error)$" "$W/events"
expect "offline drive/nb acknowledges the failure" ok offline drive/nb
summary
