#!/bin/bash
# Behaviour: the .deb installs the daemon, blkgatectl, the unit, the udev rule, the man pages
# and the completion where Debian looks for them; `systemctl start blkgate` reaches active
# (Type=notify: READY=1), with a STATUS= line, and blkgatectl finds the service's socket
# without --socket.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb

for f in /usr/sbin/blkgate /usr/bin/blkgatectl /lib/systemd/system/blkgate.service \
	/lib/udev/rules.d/60-blkgate.rules /usr/share/man/man8/blkgate.8.gz \
	/usr/share/man/man8/blkgatectl.8.gz /usr/share/bash-completion/completions/blkgatectl; do
	check "installed: $f" test -e "$f"
done
check "the package lists the unit" sh -c 'dpkg -L blkgate | grep -q blkgate.service'
fresh_service ""
check "active after start" test "$(prop ActiveState)" = active
check "Type=notify" test "$(prop Type)" = notify
check "STATUS= says what it serves" sh -c "systemctl show -P StatusText $UNIT | grep -q '^serving 0 volumes (0 offline, 0 stopped) on /run/blkgate/control.sock'"
check "the watchdog is on" test "$(prop WatchdogUSec)" != 0
check "blkgatectl finds the service's socket" env -u BLKGATE_SOCKET blkgatectl ping
check "the state dir is 0700" test "$(stat -c %a /var/lib/blkgate)" = 700
summary
