#!/bin/bash
# gate/swap-volume.sh — a volume that is active swap counts as a system volume: offline is
# refused (system-volume) until swapoff, then works.
#   tests/vm/run tests/e2e/gate/swap-volume.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkswap swapon swapoff
require_ublk

check "daemon starts" start_gate
check "create volume vw" mkvol vw 32M
VW=$(dev_of vw)
on_cleanup "swapoff $VW"
if mkswap "$VW" >/dev/null 2>&1 && swapon "$VW" 2>/dev/null; then
	expect "offline a volume that is active swap" system-volume volume offline vw
	check "swapoff" swapoff "$VW"
else
	fail "swap on a volume could not be set up (mkswap/swapon)"
fi
expect "offline vw once swap is off" ok volume offline vw
summary
