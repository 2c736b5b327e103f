#!/bin/bash
# ocf/monitor-read-fails.sh — with monitor_read=true, a direct read that fails makes the deep
# monitor (OCF_CHECK_LEVEL 10) return 1 (OCF_ERR_GENERIC) while the volume is still online:
# the volume sits on a null_blk disk whose blocks are then all marked bad. A level-0 monitor
# does not read, and still says running; the read's error then marks the drive failed.
#   tests/vm/sysvm tests/e2e/ocf/monitor-read-fails.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

check "daemon starts" start_gate
nullb nb0 16 || skip "needs null_blk with configfs"
on_cleanup "ctl offline drive/d-v"
check "volume v on it" sh -c "blkgatectl --socket $SOCK drive add d-v /dev/nb0 >/dev/null && blkgatectl --socket $SOCK disk create k-v d-v >/dev/null && blkgatectl --socket $SOCK volume create v --disk k-v --size 16M >/dev/null"
command -v udevadm >/dev/null && udevadm settle -t 10 # udev's probe of the new device
sleep 1
expect_rc "deep monitor, backing store good" 0 monitor OCF_CHECK_LEVEL=10 OCF_RESKEY_monitor_read=true
echo "+0-32767" >/sys/kernel/config/nullb/nb0/badblocks
expect_rc "every block bad: a level-0 monitor does not read" 0 monitor OCF_RESKEY_monitor_read=true
check "the volume is still online" test "$(state_of v)" = online
expect_rc "every block bad: the deep monitor's read fails" 1 monitor OCF_CHECK_LEVEL=10 OCF_RESKEY_monitor_read=true
check "the agent says the read failed" grep -q "a direct read of .* failed" "$W/ra.log"
check "the read's error failed the drive: state failed" test "$(state_of v)" = failed
expect_rc "then a level-0 monitor fails too" 1 monitor
summary
