#!/bin/bash
# gate/drive-deleted.sh — a call on a drive after `drive remove` answers object-deleted.
#   tests/vm/run tests/e2e/gate/drive-deleted.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
check "add and remove a spare drive" sh -c "blkgatectl --socket $SOCK drive add spare $D/spare.img --size 1M && blkgatectl --socket $SOCK drive remove spare"
expect "set-status of a removed drive" object-deleted drive set-status spare offline
summary
