#!/bin/bash
# Behaviour: every volume gets /dev/blkgate/NAME and /dev/disk/by-id/blkgate-NAME (the udev
# rule, from /run/blkgate/devices), lsblk shows it (SERIAL NAME, MODEL blkgate), and the names
# follow the volumes: a delete removes them, a new volume on the freed ublk id gets its own,
# a restart (handover) keeps them, a stop removes them and the next start brings them back.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb
require lsblk
fresh_service ""
mkvol v0 16M >/dev/null || fail "mkvol v0"
mkvol v1 16M >/dev/null || fail "mkvol v1"
d0=$(dev_of v0)
d1=$(dev_of v1)
udevadm settle
check "/dev/blkgate/v0 is v0's device" test "$(link_of v0)" = "$d0"
check "/dev/blkgate/v1 is v1's device" test "$(link_of v1)" = "$d1"
check "by-id link" test "$(readlink -f /dev/disk/by-id/blkgate-v0)" = "$d0"
check "lsblk shows the volume's name" test "$(lsblk -dno SERIAL "$d0" | tr -d ' ')" = v0
check "lsblk shows the model" test "$(lsblk -dno MODEL "$d0" | tr -d ' ')" = blkgate
check "the name file for udev" grep -qx BLKGATE_VOLUME=v0 "/run/blkgate/devices/${d0#/dev/}"

ctl volume delete v0 >/dev/null
udevadm settle
check "a delete removes the links" test ! -e /dev/blkgate/v0 -a ! -e /dev/disk/by-id/blkgate-v0
check "... and the name file" test ! -e "/run/blkgate/devices/${d0#/dev/}"
ctl volume create v2 --disk k-v0 --size 16M --queues 2 >/dev/null
d2=$(dev_of v2)
udevadm settle
# The kernel gives a new device the lowest free ublk id, so v2 gets v0's freed id: the same
# /dev/ublkbN, now v2's, must not still be called v0.
check "the new volume reuses v0's freed id" test "$d2" = "$d0"
check "a new volume gets its own name" test "$(link_of v2)" = "$d2"
check "no stale name on the reused id" test ! -e /dev/blkgate/v0 -a ! -e /dev/disk/by-id/blkgate-v0

systemctl restart "$UNIT"
udevadm settle
check "a restart keeps the devices" test "$(dev_of v1)" = "$d1" -a "$(dev_of v2)" = "$d2"
check "... and their names" test "$(link_of v1)" = "$d1" -a "$(link_of v2)" = "$d2"

systemctl stop "$UNIT"
udevadm settle
check "a stop removes the names with the devices" test ! -e /dev/blkgate/v1 -a ! -e /dev/blkgate/v2
systemctl start "$UNIT"
udevadm settle
check "the start brings them back" test "$(link_of v1)" = "$(dev_of v1)" -a -n "$(link_of v1)"
remove_volume v1
remove_volume v2
summary
