#!/bin/bash
# hardening/group-roles.sh — members of --group are operators, not root (issue 9, item 5).
#   tests/vm/run tests/e2e/hardening/group-roles.sh
# As uid 65534 in the daemon's group (setpriv; by primary and by supplementary group): list,
# show, offline/online, dismount/mount work; everything that names a host path, creates or
# deletes an object or changes a policy is refused with permission-denied naming the operation
# and the role, and changes nothing; above all, /root/secret.img cannot be added as a drive and
# mounted on a directory the member owns. A uid outside the group is refused outright: by the
# socket's mode, and by the daemon itself when the mode would let it in.
# Before the fix: the member's drive add, path add and the rest succeeded.
# teardown and before_cleanup are called through the trap:
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=helpers.bash
. "$(dirname "$0")/helpers.bash"

hardening_setup group-roles mkfs.ext4 findmnt
MNT=$D/mnt
SECRET=/root/blkgate-secret.img
# teardown: root removes what the test made (the volume unmounted first), so that the daemon
# stops at once; at exit also whatever is still mounted, and the secret.
teardown() {
	[ -n "$GPID" ] || return 0
	ctl volume path remove vr "$MNT"
	ctl volume delete vr
	ctl disk delete kr
	ctl drive remove dr
} >/dev/null 2>&1
before_cleanup() {
	teardown
	umount "$MNT" "$D/mine" 2>/dev/null
	rm -f "$SECRET"
}
BEFORE_CLEANUP=before_cleanup
mkdir -p "$MNT" "$D/mine"
chown 65534 "$D/mine"
printf 'root only\n' >"$SECRET"
truncate -s 16M "$SECRET"
chmod 600 "$SECRET"
REAL_CTL=$(command -v blkgatectl)

# member_ctl ARGS...: blkgatectl as uid 65534 in the group. A blkgatectl on PATH that runs the
# real one through setpriv lets lib.sh's expect check the calls of the member, and of a
# stranger (uid 65534 outside the group).
wrapper() {
	mkdir -p "$D/$1"
	printf '#!/bin/sh\nexec setpriv %s %s "$@"\n' "$2" "$REAL_CTL" >"$D/$1/blkgatectl"
	chmod 755 "$D/$1/blkgatectl"
}
wrapper member "--reuid 65534 --regid $OPS_GID --clear-groups"
wrapper stranger "--reuid 65534 --regid 65534 --clear-groups"
member_ctl() { PATH=$D/member:$PATH blkgatectl --socket "$SOCK" "$@"; }
expect_member() { PATH=$D/member:$PATH expect "$@"; }
expect_stranger() { PATH=$D/stranger:$PATH expect "$@"; }

check "daemon starts (--group $OPS_GROUP)" start_gate --group "$OPS_GROUP" --socket "$SOCK"
expect "root adds a drive" ok drive add dr "$D/dr.img" --size 64M
expect "root creates a disk" ok disk create kr dr
expect "root creates a volume" ok volume create vr --disk kr --size 32M --queues 1
DEV=$(dev_of vr)
check "ext4 on $DEV" mkfs.ext4 -q -F "$DEV"
expect "root adds an access path" ok volume path add vr "$MNT"

# ---- what an operator may do
expect_member "member: list" ok list
expect_member "member: volume show" ok volume show vr
expect_member "member: ping" ok ping
expect_member "member: volume dismount" ok volume dismount vr
expect_member "member: volume mount" ok volume mount vr
expect_member "member: volume offline" ok volume offline vr
expect_member "member: volume online" ok volume online vr
expect_member "member: offline disk/kr" ok offline disk/kr
expect_member "member: online disk/kr" ok online disk/kr
expect_member "member: drive set-status offline" ok drive set-status dr offline
expect_member "member: drive set-status online" ok drive set-status dr online
check "the volume is mounted again at its path" findmnt -n "$MNT"
check "by supplementary group too" setpriv --reuid 65534 --regid 65534 --groups "$OPS_GID" "$REAL_CTL" --socket "$SOCK" list

# ---- what it may not: refused by name, nothing changed
before=$(ctl --json drive list; ctl --json disk list; ctl volume path list vr)
expect_member "member: drive add of root's secret" permission-denied drive add secret "$SECRET"
expect_member "member: volume path add on its own dir" permission-denied volume path add vr "$D/mine"
expect_member "member: volume path remove" permission-denied volume path remove vr "$MNT"
expect_member "member: drive remove" permission-denied drive remove dr
expect_member "member: disk create" permission-denied disk create kx dr
expect_member "member: disk delete" permission-denied disk delete kr
expect_member "member: disk set-readonly" permission-denied disk set-readonly kr on
expect_member "member: volume create" permission-denied volume create vx --disk kr --size 1M
expect_member "member: volume delete" permission-denied volume delete vr
expect_member "member: refresh" permission-denied refresh
member_ctl drive add secret "$SECRET" 2>"$D/denied.err"
check "the refusal names the operation and the role" grep -q "operation 'drive.add' needs the root role: uid 65534 is in group $OPS_GROUP (the operator role)" "$D/denied.err"
after=$(ctl --json drive list; ctl --json disk list; ctl volume path list vr)
check "nothing changed" test "$before" = "$after"
check_not "no drive 'secret'" ctl drive show secret
check_not "nothing mounted on the member's dir" findmnt -n "$D/mine"
check "the volume stays mounted at root's path" findmnt -n "$MNT"

# ---- outside the group
expect_stranger "stranger: the socket's mode refuses list" permission-denied list
chmod 0666 "$SOCK"
expect_stranger "stranger: the daemon refuses list when the mode would not" permission-denied list
PATH=$D/stranger:$PATH blkgatectl --socket "$SOCK" list 2>"$D/denied.err"
check "... naming why" grep -q "uid 65534 is not root nor in group $OPS_GROUP" "$D/denied.err"
chmod 0660 "$SOCK"
expect "root still serves" ok list
teardown
summary
