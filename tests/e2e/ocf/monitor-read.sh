#!/bin/bash
# ocf/monitor-read.sh — with monitor_read=true, a monitor at OCF_CHECK_LEVEL 10 reads the device
# (one request reaches the daemon); at level 0, or without monitor_read, monitor reads nothing.
#   tests/vm/sysvm tests/e2e/ocf/monitor-read.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

reads() { json_field "$(ctl --json volume show v)" reads; }
gate_with_volume
sleep 1 # udev's probe of the new device
r0=$(reads)
expect_rc "level 0 with monitor_read" 0 monitor OCF_RESKEY_monitor_read=true
expect_rc "level 10 without monitor_read" 0 monitor OCF_CHECK_LEVEL=10
check "no read by either" test "$(reads)" = "$r0"
expect_rc "level 10 with monitor_read" 0 monitor OCF_CHECK_LEVEL=10 OCF_RESKEY_monitor_read=true
check "one read reached the daemon" test "$(reads)" -gt "$r0"
summary
