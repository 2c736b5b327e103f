#!/bin/bash
# daemon/auto-placement.sh — without --offset a volume takes the lowest free 1 MiB-aligned gap
# of its disk; when none is big enough, invalid-argument.
#   tests/vm/run tests/e2e/daemon/auto-placement.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
expect "a disk for automatic placement" ok drive add d2 "$D/d2.img" --size 16M
expect "its disk" ok disk create k2 d2
expect "volume without --offset" ok volume create p1 --disk k2 --size 3584K
expect "a second one" ok volume create p2 --disk k2 --size 4M
check "the first starts at 0" test "$(json_field "$(ctl --json volume show p1)" offset)" = 0
check "the second at the next MiB boundary (3.5M -> 4M)" test "$(json_field "$(ctl --json volume show p2)" offset)" = $((4 * MiB))
expect "no room left for 9M" invalid-argument volume create p3 --disk k2 --size 9M
expect "delete p1" ok volume delete p1
expect "delete p2" ok volume delete p2
check "no device left after the deletes" no_ublk_devices
summary
