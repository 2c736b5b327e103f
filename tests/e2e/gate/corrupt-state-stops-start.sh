#!/bin/bash
# gate/corrupt-state-stops-start.sh — a corrupt state file stops the daemon's start with a
# message naming it; the file is left untouched, the previous generation is kept, and no
# device is created.
#   tests/vm/run tests/e2e/gate/corrupt-state-stops-start.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 timeout umount
require_ublk
MNT=$W/mnt
mkdir -p "$MNT/vf"

check "daemon starts" start_gate
check "create volume vf" mkvol vf 32M
VF=$(dev_of vf)
check "mkfs vf" mkfs.ext4 -q -F "$VF"
expect "path add mounts" ok volume path add vf "$MNT/vf"
check "unmount vf before the corrupt-state check" umount "$MNT/vf"
check "stop" stop_gate
check "no device left after the stop" no_ublk_devices
cp "$STATE/state.json" "$W/state.good"
echo '{"format": "blkgate-state", "version": 1, "drives": [' >"$STATE/state.json"
timeout 60 blkgate --state-dir "$STATE" 2>"$W/corrupt.err"
rc=$?
check "the start fails on a corrupt state file (exit $rc)" test $rc -ne 0 -a $rc -ne 124
check "the message names the file" grep -q "state.json is corrupt" "$W/corrupt.err"
check "the corrupt file is left untouched" grep -q '"drives": \[$' "$STATE/state.json"
check "the previous generation is kept" test -s "$STATE/state.json.prev"
check "no device was created" no_ublk_devices
summary
