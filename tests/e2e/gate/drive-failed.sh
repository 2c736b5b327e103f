#!/bin/bash
# gate/drive-failed.sh — `drive set-status D failed`: I/O touching the drive fails with EIO; a
# failed drive cannot come online, nor go not-ready (object-failed), until it has gone offline.
#   tests/vm/run tests/e2e/gate/drive-failed.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
check "a two-drive disk: va on drive a, vb on drive b" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M && blkgatectl --socket $SOCK volume create vb --disk kab --size 16M --offset 32M"
VA=$(dev_of va)
VB=$(dev_of vb)
expect "drive a failed" ok drive set-status a failed
err=$(dd_err if="$VA" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O touching a failed drive fails with EIO" sh -c "echo '$err' | grep -q 'Input/output error'"
check "I/O to the other drive still works" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
expect "failed drive online" object-failed drive set-status a online
expect "failed drive not-ready (would skip the acknowledgement)" object-failed drive set-status a not-ready
check "still failed" test "$(json_field "$(ctl --json drive show a)" status)" = failed
expect "failed drive offline" ok drive set-status a offline
expect "then online" ok drive set-status a online
check "va works again" dd if="$VA" of=/dev/null bs=64k count=4 iflag=direct
summary
