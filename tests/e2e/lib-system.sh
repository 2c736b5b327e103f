# shellcheck shell=bash
# tests/e2e/lib-system.sh — helpers for the system suite (tests/e2e/system/), which runs in
# tests/vm/sysvm's Debian root (systemd as PID 1, udev, man-db, bash-completion): the package
# installed with dpkg, the daemon run by blkgate.service. Source it after lib.sh:
#
#   . "$(dirname "$0")/../lib.sh"
#   . "$(dirname "$0")/../lib-system.sh"
#
#   require_system           systemd as PID 1 and ublk_drv, else SKIP (77)
#   install_deb              the package from tools/build-deb (build-deb/blkgate_*.deb, or
#                            $BLKGATE_DEB) installed with dpkg once per boot, else SKIP
#   fresh_service [DROPIN]   blkgate.service stopped, its state emptied, DROPIN (lines for a
#                            [Service] section) installed as a drop-in, then started; the
#                            cleanup stops it and removes the drop-in again
#   prop NAME                a property of blkgate.service (systemctl show -P)
#   wait_for SECS CMD...     CMD until it succeeds, at most SECS seconds
#   link_of NAME             where /dev/blkgate/NAME points (empty: nowhere)
#   mounted_volume NAME TEXT a volume with ext4 mounted at its access path $W/mnt (below)
#   mount_id                 the mount id of $W/mnt (/proc/self/mountinfo; one per mount)
# $SOCK is the service's socket, so ctl and expect talk to it.
SOCK=/run/blkgate/control.sock
export BLKGATE_SOCKET=$SOCK
UNIT=blkgate.service
DROPIN_DIR=/run/systemd/system/blkgate.service.d

require_system() {
	[ -d /run/systemd/system ] || skip "needs systemd as PID 1 (run it with tests/vm/sysvm)"
	require systemctl udevadm dpkg
	require_module ublk_drv
}

install_deb() {
	local deb=${BLKGATE_DEB:-} found
	if [ -z "$deb" ]; then
		found=("${BLKGATE_VM_REPO:-/repo}"/build-deb/blkgate_*.deb)
		deb=${found[0]}
	fi
	[ -f "$deb" ] || skip "needs the package: tools/build-deb (build-deb/blkgate_*.deb)"
	if [ "$(dpkg-query -W -f='${Status}' blkgate 2>/dev/null)" != "install ok installed" ]; then
		dpkg -i "$deb" >"$W/dpkg.log" 2>&1 || {
			fail "dpkg -i $deb: $(tail -n 5 "$W/dpkg.log" | tr '\n' ' ')"
			summary
		}
	fi
	require blkgate blkgatectl
}

# stop_service: the clean stop, the state emptied, the drop-in gone.
stop_service() {
	systemctl stop "$UNIT" 2>/dev/null
	systemctl reset-failed "$UNIT" 2>/dev/null
	rm -rf "$DROPIN_DIR"
	systemctl daemon-reload
	rm -rf /var/lib/blkgate/state.json /var/lib/blkgate/state.json.prev /var/lib/blkgate/hooks
}

fresh_service() { # [DROPIN LINES]
	stop_service
	if [ -n "${1:-}" ]; then
		mkdir -p "$DROPIN_DIR"
		printf '[Service]\n%s\n' "$1" >"$DROPIN_DIR/test.conf"
		systemctl daemon-reload
	fi
	on_cleanup stop_service
	systemctl start "$UNIT" || {
		fail "systemctl start $UNIT: $(systemctl status --no-pager "$UNIT" 2>&1 | tail -n 8 | tr '\n' ' ')"
		summary
	}
}

prop() { systemctl show -P "$1" "$UNIT"; }

# mounted_volume NAME TEXT: a 64 MiB volume NAME of the service with ext4 on it, mounted at its
# access path $W/mnt, holding $W/mnt/file with TEXT. Fails the test if a step does.
mounted_volume() {
	mkvol "$1" 64M >/dev/null || fail "mkvol $1"
	mkfs.ext4 -q "$(dev_of "$1")" || fail "mkfs"
	mkdir -p "$W/mnt"
	ctl volume path add "$1" "$W/mnt" >/dev/null || fail "path add"
	echo "$2" >"$W/mnt/file"
}

wait_for() { # SECS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

link_of() { readlink -f "/dev/blkgate/$1" 2>/dev/null; }
mount_id() { awk -v m="$W/mnt" '$5 == m { print $1 }' /proc/self/mountinfo; }
