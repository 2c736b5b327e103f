#!/bin/bash
# ocf/force-stop.sh — stop with a file open on the volume's mounted file system: with
# force_stop=false it fails (1, OCF_ERR_GENERIC: device-in-use; the cluster fences the node)
# and the volume keeps serving, still mounted and online; with force_stop=true it succeeds,
# the file system is shut down (the open file gets EIO), and the device serves no more.
#   tests/vm/sysvm tests/e2e/ocf/force-stop.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf
require dd

gate_with_mounted_volume
head -c 300000 /dev/urandom >"$MNT/f"
sync
on_cleanup "exec 7<&-"
exec 7<"$MNT/f"
expect_rc "force_stop=false with a file open: stop fails" 1 stop OCF_RESKEY_force_stop=false
check "the agent says why (device-in-use)" grep -q device-in-use "$W/ra.log"
check "still mounted" mounted
check "still online" test "$(state_of v)" = online
check "the open file still reads" dd bs=4096 count=1 of=/dev/null <&7
check "the device still serves" dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct
expect_rc "monitor: still running" 0 monitor
expect_rc "force_stop=true: stop succeeds" 0 stop OCF_RESKEY_force_stop=true
check_not "dismounted" mounted
check "the volume is offline" test "$(state_of v)" = offline
err=$(dd bs=4096 count=1 <&7 2>&1 >/dev/null | grep -v 'records\|copied')
check "the open file gets EIO ($err)" grep -q 'Input/output error' <<<"$err"
check_not "a read of the device fails" dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct
exec 7<&-
summary
