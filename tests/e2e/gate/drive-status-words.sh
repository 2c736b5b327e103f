#!/bin/bash
# gate/drive-status-words.sh — `drive set-status` with `unknown` (VDS_DRS_UNKNOWN) or any
# other word it does not know is invalid-argument, and the drive's status is unchanged.
#   tests/vm/run tests/e2e/gate/drive-status-words.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
expect "drive add a" ok drive add a "$D/a.img" --size 32M
expect "set-status unknown" invalid-argument drive set-status a unknown
expect "set-status bogus" invalid-argument drive set-status a bogus
check "drive a still online" test "$(json_field "$(ctl --json drive show a)" status)" = online
summary
