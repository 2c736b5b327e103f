#!/bin/bash
# gate/resource-offline-online.sh — `offline drive/D` takes its dependents offline first (the
# disk and every volume on it) and leaves the disk's other drives alone; `online volume/V`
# brings what it depends on online first (drive, then disk); a bad object reference is
# invalid-argument, an unknown object not-found.
#   tests/vm/run tests/e2e/gate/resource-offline-online.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
check "a two-drive disk: va on drive a, vb on drive b" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M && blkgatectl --socket $SOCK volume create vb --disk kab --size 16M --offset 32M"
VB=$(dev_of vb)
expect "offline drive/b takes its dependents offline first" ok offline drive/b
check "va offline (dependent)" test "$(state_of va)" = offline
check "vb offline (dependent)" test "$(state_of vb)" = offline
check "disk kab offline (dependent)" test "$(json_field "$(ctl --json disk show kab)" state)" = offline
check "drive b offline" test "$(json_field "$(ctl --json drive show b)" status)" = offline
check "drive a untouched" test "$(json_field "$(ctl --json drive show a)" status)" = online
expect "online volume/vb brings drive and disk online first" ok online volume/vb
check "vb online" test "$(state_of vb)" = online
check "drive b online" test "$(json_field "$(ctl --json drive show b)" status)" = online
check "disk kab online" test "$(json_field "$(ctl --json disk show kab)" state)" = online
check "vb serves I/O" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
expect "bad object reference" invalid-argument offline pool/x
expect "unknown object" not-found offline volume/nope
summary
