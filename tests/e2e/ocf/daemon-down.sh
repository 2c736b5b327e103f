#!/bin/bash
# ocf/daemon-down.sh — the agent with the daemon down: a killed daemon's device still exists and
# holds its requests for the next daemon, so monitor fails (1) and stop fails (1): it cannot
# promise that nothing reaches the backing store. Once a daemon recovered the device, stop
# succeeds. After a clean daemon stop (device deleted) monitor says not running (7) and stop
# succeeds (0).
#   tests/vm/sysvm tests/e2e/ocf/daemon-down.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

# Short action timeouts: the agent waits for a restarting daemon within them.
T=OCF_RESKEY_CRM_meta_timeout=8000
gate_with_volume
ctl volume offline v >/dev/null
expect_rc "start (records the device)" 0 start
DEV=$(dev_of v)
kill -KILL "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "the killed daemon's device is still there" test -b "$DEV"
expect_rc "daemon killed, device held: monitor fails" 1 monitor "$T"
expect_rc "daemon killed, device held: stop fails" 1 stop "$T"
check "a new daemon recovers the device" start_gate
expect_rc "then stop succeeds" 0 stop "$T"
check "the volume is offline" test "$(state_of v)" = offline
expect_rc "start again" 0 start
check "daemon stopped cleanly (its devices deleted)" stop_gate
check "no device left" no_ublk_devices
expect_rc "daemon down, no device: monitor says not running" 7 monitor "$T"
expect_rc "daemon down, no device: stop succeeds" 0 stop "$T"
check "a daemon starts again" start_gate
summary
