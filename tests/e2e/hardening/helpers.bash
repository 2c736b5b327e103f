# shellcheck shell=bash disable=SC2034 # TOOL, OPS_GID, D: used by the scripts that source this
# tests/e2e/hardening/helpers.bash — shared by the hardening scripts; source it after lib.sh.
# Not a test itself (suites run *.sh). Defines:
#   hardening_setup NAME [CMD...]
#                       SKIP unless blkgate, blkgatectl, setpriv, the CMDs and ublk are there;
#                       the group (ops_group); a fresh work dir D=$W/NAME holding the socket
#                       (private_socket); and the EXIT trap: the function named in
#                       $BEFORE_CLEANUP if set, the clients started by start_clients, the
#                       daemon, the group, $D
#   ops_group           the group blkgate-ops (gid 4242), created in the VM when missing (and
#                       removed again at exit); sets OPS_GROUP and OPS_GID, or SKIP
#   private_socket DIR  puts $SOCK in DIR/sock (directories mode 0755, so that other uids can
#                       reach the socket; the socket's own mode decides) and exports it
#   as_member CMD...    runs CMD as uid 65534 with the group as its only group
#   start_clients ARGS  blkgate-clients ARGS as a member, in the background, its report in
#                       $D/clients.out; returns once it printed "ready"
#   clients_report KEY  one number of that report (after wait_clients)
#   wait_clients        waits for the clients' end
#   cpu_ticks PID       user+system CPU time of PID's threads, in clock ticks (/proc/PID/stat)
#   elapsed_us CMD...   runs CMD (output to $W/elapsed.out), prints the microseconds it took;
#                       returns CMD's status

OPS_GROUP=blkgate-ops
OPS_GID=
OPS_ADDED=
ops_group() {
	OPS_GID=$(awk -F: -v g="$OPS_GROUP" '$1 == g { print $3 }' /etc/group)
	[ -z "$OPS_GID" ] || return 0
	if [ "${BLKGATE_IN_VM:-}" != 1 ]; then
		echo "SKIP: needs a group $OPS_GROUP (created only inside the VM: tests/vm/run)"
		exit 77
	fi
	echo "$OPS_GROUP:x:4242:" >>/etc/group
	OPS_GID=4242
	OPS_ADDED=1
}
drop_ops_group() {
	[ -n "$OPS_ADDED" ] || return 0
	grep -v "^$OPS_GROUP:" /etc/group >/etc/group.new && cat /etc/group.new >/etc/group
	rm -f /etc/group.new
	OPS_ADDED=
}

private_socket() {
	mkdir -p "$1/sock"
	chmod 0755 "$1" "$1/sock"
	SOCK=$1/sock/control.sock
	export BLKGATE_SOCKET=$SOCK
}

D=
CPID=
BEFORE_CLEANUP=
hardening_setup() {
	local t
	for t in blkgate blkgatectl setpriv awk "${@:2}"; do
		command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
	done
	[ -e /dev/ublk-control ] || { echo "SKIP: needs ublk_drv (/dev/ublk-control): run it with tests/vm/run"; exit 77; }
	ops_group
	D=$W/$1
	trap hardening_cleanup EXIT
	rm -rf "$D"
	mkdir -p "$D"
	private_socket "$D"
}
hardening_cleanup() {
	[ -z "$BEFORE_CLEANUP" ] || "$BEFORE_CLEANUP"
	[ -z "$CPID" ] || { kill "$CPID" && wait "$CPID"; } 2>/dev/null
	CPID=
	stop_gate
	drop_ops_group
	rm -rf "$D"
}

as_member() { setpriv --reuid 65534 --regid "$OPS_GID" --clear-groups "$@"; }

start_clients() {
	find_tool blkgate-clients
	as_member "$TOOL" --socket "$SOCK" "$@" >"$D/clients.out" 2>&1 &
	CPID=$!
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q '^ready' "$D/clients.out" 2>/dev/null && return 0
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "the clients did not get ready: $(cat "$D/clients.out")"
	return 1
}
wait_clients() {
	wait "$CPID"
	CPID=
	note "clients: $(tr '\n' ' ' <"$D/clients.out")"
}
clients_report() { sed -n "s/^$1=//p" "$D/clients.out"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

elapsed_us() {
	local t0=${EPOCHREALTIME/./} rc
	"$@" >"$W/elapsed.out" 2>&1
	rc=$?
	echo $((${EPOCHREALTIME/./} - t0))
	return $rc
}
