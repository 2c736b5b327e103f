#!/bin/bash
# ocf/monitor-states.sh — monitor maps the volume's state: online 0, offline 7 (its own or its
# drive's), a failed drive under it 1 (OCF_ERR_GENERIC, so Pacemaker moves it), a not-ready
# drive 1; a volume this node's
# daemon does not have: probe 7, start 5 (OCF_ERR_INSTALLED).
#   tests/vm/sysvm tests/e2e/ocf/monitor-states.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf

gate_with_volume
expect_rc "online: running" 0 monitor
expect "drive failed" ok drive set-status d-v failed
expect_rc "a failed drive: OCF_ERR_GENERIC" 1 monitor
expect "drive offline (acknowledged)" ok drive set-status d-v offline
expect "drive online" ok drive set-status d-v online
expect_rc "online again: running" 0 monitor
expect "drive offline" ok drive set-status d-v offline
expect_rc "an offline drive: not running (nothing is served)" 7 monitor
expect "drive online" ok drive set-status d-v online
expect "drive not ready" ok drive set-status d-v not-ready
expect_rc "a not-ready drive: OCF_ERR_GENERIC" 1 monitor
expect "drive online" ok drive set-status d-v online
expect_rc "stop" 0 stop
expect_rc "offline: not running" 7 monitor
expect_rc "probe of a volume this daemon lacks: not running" 7 monitor OCF_RESKEY_volume=nope OCF_RESKEY_CRM_meta_interval=0
expect_rc "start of a volume this daemon lacks: not installed" 5 start OCF_RESKEY_volume=nope
summary
