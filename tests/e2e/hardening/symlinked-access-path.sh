#!/bin/bash
# tests/e2e/hardening/symlinked-access-path.sh — a volume is never mounted through a symbolic
# link at any component of its access path (issue 9, item 4):
#   tests/vm/run tests/e2e/hardening/symlinked-access-path.sh
# - `path add` through a symlinked parent, or onto a symlink, is refused with
#   permission-denied naming the link; nothing is mounted, nothing recorded;
# - a path added safely whose parent is then swapped for a symbolic link by the parent's
#   non-root owner (uid 65534, as the attacker) is not mounted through it at `volume mount`
#   (permission-denied naming it), `volume online` (online, with a note naming it) or a
#   restart (a log line naming it): nothing is mounted at the link's target, nor anywhere;
# - once the swap is undone, `volume mount` mounts it at its path again.
# cleanup, swap, unswap, mounted_at, dev_mounted are called through trap and check:
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

for t in blkgate blkgatectl mkfs.ext4 findmnt; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
done
[ -e /dev/ublk-control ] || { echo "SKIP: needs ublk_drv (/dev/ublk-control): run it with tests/vm/run"; exit 77; }

D=$W/symlinked
V=vsym
USER_DIR=$D/user       # owned by the attacker (uid 65534)
AP=$USER_DIR/sub/m     # the access path: its parent sub is in the attacker's directory
VICTIM=$D/victim       # root's directory the attacker points the link at

cleanup() {
	if [ -n "$GPID" ]; then
		remove_volume "$V"
		stop_gate
	fi
	umount -l "$AP" "$VICTIM/m" "$D/real/m" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

# as_user CMD...: run CMD as uid 65534 (util-linux setpriv, else su to nobody, else as root:
# the daemon cannot tell who made the swap; only the test's realism suffers).
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	AS_USER=setpriv
elif su -s /bin/sh nobody -c true 2>/dev/null; then
	AS_USER=su
else
	AS_USER=root
fi
as_user() {
	case $AS_USER in
	setpriv) setpriv --reuid=65534 --regid=65534 --clear-groups "$@" ;;
	su) su -s /bin/sh nobody -c "$(printf '%q ' "$@")" ;;
	*) "$@" ;;
	esac
}
note "the attacker's steps run as: $AS_USER"
# mounted_at DIR: something is mounted exactly at DIR.
mounted_at() { awk -v d="$1" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo; }
# dev_mounted: the volume's device is mounted anywhere.
dev_mounted() { findmnt -rn -S "$DEV" >/dev/null; }
# says PATTERN ARGS...: blkgatectl ARGS prints (on stdout or stderr) a line matching PATTERN.
says() {
	local pattern=$1
	shift
	ctl "$@" 2>&1 | grep -q -- "$pattern"
}

rm -rf "$D"
mkdir -p "$D/real/m" "$VICTIM/m" "$USER_DIR"
chown 65534:65534 "$USER_DIR"
as_user mkdir -p "$USER_DIR/sub/m"
check "the attacker owns $USER_DIR/sub" test "$(stat -c %u "$USER_DIR/sub")" = "$([ $AS_USER = root ] && echo 0 || echo 65534)"
ln -s "$D/real" "$D/link"
ln -s "$D/real/m" "$D/real/lm"

check "daemon starts" start_gate
check "drive, disk and volume" mkvol "$V" 64M
DEV=$(dev_of "$V")
check "mkfs.ext4 on $DEV" mkfs.ext4 -q -F "$DEV"

# ---- path add through a symbolic link -------------------------------------------------------
expect "path add through a symlinked parent" permission-denied volume path add "$V" "$D/link/m"
check "the message names the link" says "$D/link is a symbolic link" volume path add "$V" "$D/link/m"
expect "path add onto a symlink" permission-denied volume path add "$V" "$D/real/lm"
check_not "nothing mounted at the link's target" mounted_at "$D/real/m"
check_not "the device is mounted nowhere" dev_mounted
check "nothing recorded" test -z "$(ctl volume path list "$V")"

# ---- added safely, then the parent swapped --------------------------------------------------
expect "path add of a safe path" ok volume path add "$V" "$AP"
check "mounted at $AP" mounted_at "$AP"
expect "dismount" ok volume dismount "$V"
check_not "dismounted" dev_mounted

swap() { as_user mv "$USER_DIR/sub" "$USER_DIR/sub.old" && as_user ln -s "$VICTIM" "$USER_DIR/sub"; }
unswap() { as_user rm "$USER_DIR/sub" && as_user mv "$USER_DIR/sub.old" "$USER_DIR/sub"; }
check "the parent's owner swaps $USER_DIR/sub for a link to $VICTIM" swap

expect "volume mount through the swapped parent" permission-denied volume mount "$V"
check "volume mount names the link" says "$USER_DIR/sub is a symbolic link" volume mount "$V"
check_not "volume mount: nothing at the link's target" mounted_at "$VICTIM/m"
check_not "volume mount: the device is mounted nowhere" dev_mounted

expect "offline" ok volume offline "$V"
check "online: ok, with a note naming the refused path" \
	says "note: .*$USER_DIR/sub is a symbolic link" volume online "$V"
check "online: the volume is online" test "$(state_of "$V")" = online
check_not "online: nothing at the link's target" mounted_at "$VICTIM/m"
check_not "online: the device is mounted nowhere" dev_mounted

check "restart: stop" stop_gate
: >"$W/gate.log"
check "restart: start" start_gate
check "restart: the log names the refused path" grep -q "restore: volume $V: permission-denied: access path $AP: $USER_DIR/sub is a symbolic link" "$W/gate.log"
check_not "restart: nothing at the link's target" mounted_at "$VICTIM/m"
check_not "restart: the device is mounted nowhere" dev_mounted

# ---- the swap undone: mountable again -------------------------------------------------------
check "the owner undoes the swap" unswap
expect "volume mount once the path is safe again" ok volume mount "$V"
check "mounted at $AP again" mounted_at "$AP"
check_not "still nothing at the link's target" mounted_at "$VICTIM/m"
expect "path remove" ok volume path remove "$V" "$AP"
check_not "unmounted" dev_mounted

summary
