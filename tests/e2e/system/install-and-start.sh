#!/bin/bash
# Behaviour: the .deb installs the daemon, blkgatectl, the unit and its stop helper, the udev
# rule, the man pages, the completion, the OCF agent (executable, where Pacemaker looks for
# provider blkgate) and the docs where Debian looks for them; `systemctl start blkgate`
# reaches active (Type=notify: READY=1), with a STATUS= line, and blkgatectl finds the
# service's socket without --socket.
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib-system.sh
. "$(dirname "$0")/../lib-system.sh"
require_system
install_deb

for f in /usr/sbin/blkgate /usr/bin/blkgatectl /lib/systemd/system/blkgate.service \
	/lib/udev/rules.d/60-blkgate.rules /usr/share/man/man8/blkgate.8.gz \
	/usr/share/man/man8/blkgatectl.8.gz /usr/share/bash-completion/completions/blkgatectl \
	/usr/share/man/man7/ocf_blkgate_volume.7.gz /usr/share/doc/blkgate/copyright \
	/usr/share/doc/blkgate/changelog.gz /usr/share/doc/blkgate/README.md.gz \
	/usr/share/doc/blkgate/blkgatectl.md.gz /usr/share/doc/blkgate/control-protocol.md.gz \
	/usr/share/doc/blkgate/semantics.md.gz; do
	check "installed: $f" test -s "$f"
done
for f in /usr/sbin/blkgate /usr/bin/blkgatectl /usr/libexec/blkgate/blkgate-service-stop \
	/usr/lib/ocf/resource.d/blkgate/volume; do
	check "installed, executable: $f" test -f "$f" -a -x "$f"
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
