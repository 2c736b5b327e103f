#!/bin/bash
# ocf/start-mounts.sh — a volume with an access path and a file system: the agent's start
# brings it online mounted at the path, stop dismounts it (not mounted, the device offline:
# reads fail), and a repeated start while the volume is online but dismounted mounts it again
# (volume mount), with the files intact.
#   tests/vm/sysvm tests/e2e/ocf/start-mounts.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=ocf-lib
. "$(dirname "$0")/ocf-lib"
require_ocf
require sha256sum dd

gate_with_mounted_volume
head -c 300000 /dev/urandom >"$MNT/f"
(cd "$MNT" && sha256sum f) >"$W/sums"
expect "volume offline (dismounts it)" ok volume offline v
check_not "not mounted while offline" mounted
expect_rc "start" 0 start
check "start mounted it at its access path" mounted
check "its file is intact" sh -c "cd $MNT && sha256sum -c $W/sums"
expect_rc "stop" 0 stop
check_not "stop dismounted it" mounted
check "the volume is offline" test "$(state_of v)" = offline
check_not "a read of the device fails" dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct
expect_rc "start again" 0 start
check "mounted again" mounted
expect "dismount (the volume stays online)" ok volume dismount v
check_not "not mounted" mounted
check "still online" test "$(state_of v)" = online
expect_rc "a repeated start while online but dismounted" 0 start
check "mounted again by it" mounted
check "the file is intact" sh -c "cd $MNT && sha256sum -c $W/sums"
expect_rc "monitor" 0 monitor
summary
