#!/bin/bash
# tests/e2e/hardening/mount-options.sh — access paths are mounted nosuid,nodev by default, and
# with the options given to `path add --options` (issue 9, item 4):
#   tests/vm/run tests/e2e/hardening/mount-options.sh
# - a default access path's mount has nosuid and nodev in /proc/self/mountinfo, and a device
#   node on the volume cannot be opened through it;
# - `--options ro,noexec`: that mount is read-only and noexec (writing and running a program
#   fail there while the same volume stays writable and executable at its default path);
#   `path list` and `volume show` show the options; they are in the state file and applied
#   again after a restart;
# - a bad option (suid, dev, an unknown one) is refused with invalid-argument, nothing changed;
# - `path remove` with another spelling of a path unmounts that path and only that one.
# cleanup, mounted_at, opts_of, has_opts are called through trap and check:
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

for t in blkgate blkgatectl mkfs.ext4 findmnt mknod; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
done
[ -e /dev/ublk-control ] || { echo "SKIP: needs ublk_drv (/dev/ublk-control): run it with tests/vm/run"; exit 77; }

D=$W/mount-options
V=vopt
A=$D/a # default options
B=$D/b # --options ro,noexec

cleanup() {
	if [ -n "$GPID" ]; then
		remove_volume "$V"
		stop_gate
	fi
	umount -l "$A" "$B" "$D/c" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

# opts_of DIR: the per-mount options of the mount at DIR (field 6 of /proc/self/mountinfo).
opts_of() { awk -v d="$1" '$5 == d { print $6 }' /proc/self/mountinfo | tail -n 1; }
# mounted_at DIR: something is mounted exactly at DIR.
mounted_at() { awk -v d="$1" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo; }
# has_opts DIR OPT...: the mount at DIR has every OPT.
has_opts() {
	local dir=$1 o
	shift
	for o in "$@"; do
		case ",$(opts_of "$dir")," in *",$o,"*) ;; *) echo "$dir: $(opts_of "$dir") lacks $o"; return 1 ;; esac
	done
}

rm -rf "$D"
mkdir -p "$A" "$B" "$D/c"
check "daemon starts" start_gate
check "drive, disk and volume" mkvol "$V" 64M
DEV=$(dev_of "$V")
check "mkfs.ext4 on $DEV" mkfs.ext4 -q -F "$DEV"

# ---- the default: nosuid,nodev --------------------------------------------------------------
expect "path add (default options)" ok volume path add "$V" "$A"
check "mountinfo: $A is nosuid,nodev ($(opts_of "$A"))" has_opts "$A" nosuid nodev rw
check "a device node made on the volume" mknod "$A/null" c 1 3
check_not "cannot be opened through the nodev mount" sh -c "echo x >'$A/null'"
printf '#!/bin/sh\necho ran\n' >"$A/prog"
chmod 755 "$A/prog"
check "a program on the volume runs at $A" "$A/prog"

# ---- --options ro,noexec --------------------------------------------------------------------
expect "path add --options ro,noexec" ok volume path add "$V" "$B" --options ro,noexec
check "mountinfo: $B is ro,noexec,nosuid,nodev ($(opts_of "$B"))" has_opts "$B" ro noexec nosuid nodev
check_not "writing through $B fails" touch "$B/new"
check "writing through $A still works" touch "$A/new"
check_not "running a program through $B fails" "$B/prog"
check "path list shows the options" sh -c "blkgatectl --socket '$SOCK' volume path list $V | grep -qx '$B (nosuid,nodev,ro,noexec)'"
check "volume show --json shows the options" sh -c "blkgatectl --socket '$SOCK' --json volume show $V | grep -qF '{\"options\":\"nosuid,nodev,ro,noexec\",\"path\":\"$B\"}'"
check "the state file keeps them" grep -q '"options": "nosuid,nodev,ro,noexec"' "$STATE/state.json"

# ---- a bad option: refused, nothing changed -------------------------------------------------
cp "$STATE/state.json" "$W/opt-state.before"
for bad in suid dev ro,suid exec,dev bogus uid=0 ro,,noexec; do
	expect "path add --options $bad" invalid-argument volume path add "$V" "$D/c" --options "$bad"
done
check "the state file is unchanged" cmp "$STATE/state.json" "$W/opt-state.before"
check_not "nothing mounted at $D/c" findmnt -rn "$D/c"
check "two access paths still" test "$(ctl volume path list "$V" | wc -l)" = 2

# ---- a restart mounts them again with their options -----------------------------------------
# Dismounted first: the daemon leaves mounts in place when it stops, and a restart mounts a
# (temporarily) dismounted volume at its access paths.
expect "dismount before the restart" ok volume dismount "$V"
check_not "dismounted" findmnt -rn -S "$DEV"
check "restart: stop" stop_gate
check "restart: start" start_gate
check "restart: $A is nosuid,nodev ($(opts_of "$A"))" has_opts "$A" nosuid nodev rw
check "restart: $B is ro,noexec,nosuid,nodev ($(opts_of "$B"))" has_opts "$B" ro noexec nosuid nodev
check_not "restart: writing through $B fails" touch "$B/new2"
check "restart: the data is there" test -f "$A/new"
# Another spelling of the same path names the same access path (normalised at the edge).
expect "path remove $D//b/ (another spelling of $B)" ok volume path remove "$V" "$D//b/"
check_not "$B unmounted" mounted_at "$B"
check "$A still mounted" mounted_at "$A"
expect "path remove $A" ok volume path remove "$V" "$A"
check_not "path remove unmounted both" findmnt -rn -S "$DEV"

summary
