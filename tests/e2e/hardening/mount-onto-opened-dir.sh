#!/bin/bash
# tests/e2e/hardening/mount-onto-opened-dir.sh — the daemon's mount lands on the directory it
# opened (openat2 RESOLVE_NO_SYMLINKS), never on a path looked up again (issue 9, item 4):
#   tests/vm/run tests/e2e/hardening/mount-onto-opened-dir.sh
# tests/tools/mount-onto opens an access path as the daemon does, then swaps a parent for a
# symbolic link to another directory (what the parent's owner could do between the open and
# the mount), then mounts onto the opened directory with the daemon's code (the kernel's mount
# API, move_mount onto the descriptor): the mount must be at the moved directory, and nothing
# at the link's target. The daemon's whole mount of that path afterwards is refused
# (permission-denied). No daemon: a loop device carries the file system.
# cleanup is called through trap:
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

for t in losetup mkfs.ext4 findmnt; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
done
find_tool mount-onto
MOUNT_ONTO=$TOOL

D=$W/mount-onto
LOOP=
cleanup() {
	umount -l "$D/p.moved/m" "$D/target/m" 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	rm -rf "$D"
}
trap cleanup EXIT

rm -rf "$D"
mkdir -p "$D/p/m" "$D/target/m"
truncate -s 32M "$D/fs.img"
mkfs.ext4 -q -F "$D/fs.img"
LOOP=$(losetup -f --show "$D/fs.img") || { echo "SKIP: needs a loop device"; exit 77; }

"$MOUNT_ONTO" "$LOOP" "$D/p/m" "$D/p" "$D/target" >"$W/mount-onto.out" 2>&1
rc=$?
cat "$W/mount-onto.out"
check "mount-onto ran every step (exit $rc)" test "$rc" = 0
check "the parent was swapped for a link" test -L "$D/p"
check "the mount landed on the opened directory ($D/p.moved/m)" grep -qx "onto: $D/p.moved/m" "$W/mount-onto.out"
check_not "not on the link's target" grep -q "onto: $D/target" "$W/mount-onto.out"
check "the whole mount of the swapped path is refused" grep -qx "again: permission-denied" "$W/mount-onto.out"
check_not "nothing is left mounted at the link's target" findmnt -rn "$D/target/m"
check_not "nothing is left mounted at the moved directory" findmnt -rn "$D/p.moved/m"

summary
