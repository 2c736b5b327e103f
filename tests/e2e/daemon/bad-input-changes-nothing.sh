#!/bin/bash
# daemon/bad-input-changes-nothing.sh — bad input is refused with a named error and its exit
# status (unknown verb, bad size, missing backing file, duplicate name, unknown drive/disk/
# volume, extent past the disk's end, size not a multiple of 512, bad backend, a drive in use
# by a disk) and changes nothing: no file, no object.
#   tests/vm/run tests/e2e/daemon/bad-input-changes-nothing.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
before=$(ctl --json list)
expect "unknown verb" invalid-argument frobnicate
expect "bad size" invalid-argument drive add x "$D/x.img" --size 12Q
expect "missing backing file without --size" not-found drive add x "$D/missing.img"
check "nothing created by the refused drive add" test ! -e "$D/x.img"
check "the object list is unchanged by the refused calls" test "$(ctl --json list)" = "$before"
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "duplicate drive name" already-exists drive add d0 "$D/other.img" --size 1M
check "the duplicate did not create its file" test ! -e "$D/other.img"
expect "disk of an unknown drive" not-found disk create k0 d0 nope
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "drive in use by a disk" device-in-use drive remove d0
before=$(ctl --json list)
expect "volume on an unknown disk" not-found volume create v9 --disk nope --size 1M
expect "extent past the end of the disk" invalid-argument volume create v9 --disk k0 --size 100M --offset 48M
expect "size not a multiple of 512" invalid-argument volume create v9 --disk k0 --size 1000
expect "show an unknown volume" not-found volume show nope
expect "bad backend" invalid-argument volume create v9 --disk k0 --size 1M --backend nbd
check "refused calls left no volume" sh -c "! blkgatectl --socket $SOCK volume show v9 >/dev/null 2>&1"
check "the object list is unchanged by the refused volume calls" test "$(ctl --json list)" = "$before"
check "no device was created" no_ublk_devices
summary
