#!/bin/bash
# ocf/daemon-hung.sh — the agent with a daemon that accepts connections but never replies
# (SIGSTOPped): monitor, start and stop each return within their action timeout (10 s here),
# with the volume's device still there: monitor 1 (OCF_ERR_GENERIC), start 1, stop 1 (the
# device may still serve, so stop cannot report the volume stopped). Once the daemon runs
# again, stop succeeds.
#   tests/vm/sysvm tests/e2e/ocf/daemon-hung.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

gate_with_volume
ctl volume offline v >/dev/null
expect_rc "start (records the device)" 0 start
DEV=$(dev_of v)
on_cleanup "kill -CONT $GPID"
check "daemon stopped (SIGSTOP)" kill -STOP "$GPID"
expect_rc_in 10000 "daemon hung: monitor fails" 1 monitor
expect_rc_in 10000 "daemon hung: start fails" 1 start
expect_rc_in 10000 "daemon hung: stop fails" 1 stop
check "the device is still there" test -b "$DEV"
check "daemon continues (SIGCONT)" kill -CONT "$GPID"
check "it answers again" ctl ping
expect_rc "then stop succeeds" 0 stop
check "the volume is offline" test "$(state_of v)" = offline
summary
