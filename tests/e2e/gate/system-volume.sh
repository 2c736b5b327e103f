#!/bin/bash
# gate/system-volume.sh — a volume created with --system cannot be taken offline
# (system-volume), nor can its disk (failed-to-offline-disk). (Active swap: swap-volume.sh.)
#   tests/vm/run tests/e2e/gate/system-volume.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
check "create a --system volume" sh -c "blkgatectl --socket $SOCK drive add d-sys $D/sys.img --size 8M && blkgatectl --socket $SOCK disk create k-sys d-sys && blkgatectl --socket $SOCK volume create vsys --disk k-sys --size 8M --system"
expect "offline the system volume" system-volume volume offline vsys
expect "offline the disk of the system volume" failed-to-offline-disk disk offline k-sys
check "vsys still online" test "$(state_of vsys)" = online
summary
