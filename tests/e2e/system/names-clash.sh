#!/bin/bash
# Behaviour: /dev/blkgate/NAME is one name space per machine. When a second daemon (its own
# state dir and socket, the same names dir) serves a volume of a name the service's volume
# already has, the link stays the first device's (by-id too), the second device gets no name
# file and the second daemon's log says why; once the first volume is gone, the second
# daemon's volume gets the name when its device next starts.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
fresh_service ""
mkvol shared 16M >/dev/null || fail "mkvol shared (the service)"
d1=$(dev_of shared)
udevadm settle
check "/dev/blkgate/shared is the service's volume" test "$(link_of shared)" = "$d1"

# The second daemon: ctl, dev_of and start_gate follow $SOCK and $STATE.
SVC_SOCK=$SOCK
STATE=$W/second
SOCK=$STATE/control.sock
export BLKGATE_SOCKET=$SOCK
start_gate --socket "$SOCK" || fail "the second daemon did not start"
mkdir -p "$W/data"
if ! { ctl drive add d2 "$W/data/second.img" --size 16M >/dev/null &&
	ctl disk create k2 d2 >/dev/null &&
	ctl volume create shared --disk k2 --size 16M --queues 2 >/dev/null; }; then
	fail "the second daemon's volume 'shared'"
fi
d2=$(dev_of shared)
udevadm settle
check "the second volume has its own device" test -n "$d2" -a "$d2" != "$d1"
check "/dev/blkgate/shared stays the first device's" test "$(link_of shared)" = "$d1"
check "... and /dev/disk/by-id/blkgate-shared" \
	test "$(readlink -f /dev/disk/by-id/blkgate-shared)" = "$d1"
check "the second device has no name file" test ! -e "/run/blkgate/devices/${d2#/dev/}"
check "the first device keeps its name file" \
	grep -qx BLKGATE_VOLUME=shared "/run/blkgate/devices/${d1#/dev/}"
check "the second daemon's log says why" \
	grep -q "/dev/blkgate/shared is already /dev/${d1#/dev/}'s (a volume of that name served by another daemon)" "$W/gate.log"

# The service's volume goes; the second daemon restarts (its device is deleted and created
# again at start): now the name is free and its volume takes it.
SOCK=$SVC_SOCK remove_volume shared
udevadm settle
check "the first volume's delete removed the link" test ! -e /dev/blkgate/shared
stop_gate || fail "the second daemon did not stop cleanly"
start_gate --socket "$SOCK" || fail "the second daemon did not start again"
d2=$(dev_of shared)
udevadm settle
check "the second daemon's volume has the name now" test -n "$d2" -a "$(link_of shared)" = "$d2"
remove_volume shared
summary
