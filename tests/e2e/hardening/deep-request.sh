#!/bin/bash
# tests/e2e/hardening/deep-request.sh — a hostile message costs its sender one error, nothing
# else (issue 9, items 1 and 11):
#   tests/vm/run tests/e2e/hardening/deep-request.sh
# - a request nested 1M levels deep ({"v":1,"op":"ping","args":{"x":[[[... never closed) and
#   one nested 100k levels (closed, the crash of the issue) are each answered with
#   protocol-error naming the 32-level limit; a ping on the same connection is then answered,
#   and so is one on a new connection; the daemon is the same process and its volume still
#   serves reads and writes (it used to die of SIGSEGV, taking every device with it);
# - a line over 1 MiB is answered with protocol-error naming the limit before the daemon
#   closes that connection (it used to close it with no reply); the daemon lives on.
# Uses tests/tools/blkgate-raw to send what blkgatectl never would.
# cleanup, make_objects, io_ok and closed_or_ping are called through trap and check:
# shellcheck disable=SC2317
set -u
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

for t in blkgate blkgatectl dd cmp; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: needs $t"; exit 77; }
done
[ -e /dev/ublk-control ] || { echo "SKIP: needs ublk_drv (/dev/ublk-control): run it with tests/vm/run"; exit 77; }
find_tool blkgate-raw
RAW=$TOOL

SIZE=$((16 << 20))
D=$W/deep-request
V=vdeep

cleanup() {
	if [ -n "$GPID" ]; then
		ctl volume delete "$V" >/dev/null 2>&1
		ctl disk delete kdeep >/dev/null 2>&1
		ctl drive remove ddeep >/dev/null 2>&1
		stop_gate
	fi
	rm -rf "$D"
}
trap cleanup EXIT

rm -rf "$D"
mkdir -p "$D"
check "daemon starts" start_gate
PID=$GPID
make_objects() {
	ctl drive add ddeep "$D/drive.img" --size "$SIZE" && ctl disk create kdeep ddeep &&
		ctl volume create "$V" --disk kdeep --size "$SIZE" --queues 1
}
check "drive, disk and volume" make_objects
DEV=$(dev_of "$V")
# io_ok: the volume takes a write of new random bytes that reaches its backing file, and reads
# it back (O_DIRECT, past the page cache). The device node is checked first: once the device is
# gone, dd would write a regular file of that name in /dev and read it back just as well.
io_ok() {
	[ -b "$DEV" ] || { echo "$DEV is not a block device"; return 1; }
	dd if=/dev/urandom of="$D/pattern" bs=64K count=4 2>/dev/null &&
		dd if="$D/pattern" of="$DEV" bs=64K oflag=direct conv=fsync,notrunc 2>/dev/null &&
		dd if="$DEV" of="$D/back" bs=64K count=4 iflag=direct 2>/dev/null &&
		cmp "$D/pattern" "$D/back" && cmp -n $((256 << 10)) "$D/pattern" "$D/drive.img"
}
check "the volume serves I/O before" io_ok

# raw OUT ARGS...: blkgate-raw on our socket; its replies in OUT, its last line in OUT.err.
raw() {
	local out=$1
	shift
	"$RAW" --socket "$SOCK" --timeout 60 "$@" >"$out" 2>"$out.err" || { cat "$out.err"; return 1; }
}
# reply_is FILE N RESULT TEXT: reply line N of FILE has that result and TEXT in its message.
reply_is() {
	local line
	line=$(sed -n "$2p" "$1")
	if [ "$(json_field "$line" result)" != "$3" ] || { [ -n "$4" ] && [ "${line#*"$4"}" = "$line" ]; }; then
		echo "reply $2: '${line:0:200}'; $(cat "$1.err")"
		return 1
	fi
}
PING='{"v":1,"op":"ping"}'

check "a 1M-deep request and a ping on one connection get two replies" \
	raw "$D/deep" --nested 1000000 --line "$PING" --replies 2
check "the 1M-deep request is a protocol-error naming the limit" \
	reply_is "$D/deep" 1 protocol-error "nested deeper than 32 levels"
check "the ping after it on the same connection is answered" reply_is "$D/deep" 2 ok ""
check "that connection is still open" grep -q "the connection is open" "$D/deep.err"

check "a 100k-deep closed request and a ping get two replies" \
	raw "$D/balanced" --balanced 100000 --line "$PING" --replies 2
check "the 100k-deep request is a protocol-error naming the limit" \
	reply_is "$D/balanced" 1 protocol-error "nested deeper than 32 levels"
check "the ping after it is answered" reply_is "$D/balanced" 2 ok ""

check "a ping on a new connection is answered" ctl ping
check "the daemon is the same process" kill -0 "$PID"
check "the volume serves I/O after" io_ok
expect "its state is untouched" ok volume show "$V"

# 2 MiB before the newline: the daemon is past its 1 MiB limit long before the newline comes.
check "a line over 1 MiB, then a ping: the daemon answers or closes" \
	raw "$D/long" --long $((2 << 20)) --line "$PING" --replies 2
check "the over-long line is answered with a protocol-error naming the limit" \
	reply_is "$D/long" 1 protocol-error "larger than"
# closed_or_ping: after that reply the connection is closed, or the ping on it is answered.
closed_or_ping() {
	grep -q "1 replies; the daemon closed the connection" "$D/long.err" ||
		reply_is "$D/long" 2 ok ""
}
check "then the connection is closed (or still answers)" closed_or_ping
check "a ping on a new connection is answered after it" ctl ping
check "the daemon is still the same process" kill -0 "$PID"
check "the volume serves I/O at the end" io_ok

summary
