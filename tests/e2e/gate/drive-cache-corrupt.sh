#!/bin/bash
# gate/drive-cache-corrupt.sh — when a drive's backing file is replaced under the gate, drive
# calls answer cache-corrupt until `blkgatectl refresh`, then work.
#   tests/vm/run tests/e2e/gate/drive-cache-corrupt.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl truncate
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
check "a two-drive disk: va on drive a, vb on drive b" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M && blkgatectl --socket $SOCK volume create vb --disk kab --size 16M --offset 32M"
mv "$D/b.img" "$D/b.old"
truncate -s 32M "$D/b.img"
expect "set-status after the backing file changed" cache-corrupt drive set-status b offline
expect "still cache-corrupt before refresh" cache-corrupt drive set-status b offline
expect "refresh" ok refresh
expect "set-status after refresh" ok drive set-status b offline
expect "b online" ok drive set-status b online
summary
