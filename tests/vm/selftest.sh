#!/bin/bash
# tests/vm/selftest.sh - checks tests/vm/run (runs on the HOST, boots 6 VMs).
# Last line: "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
RUN=$HERE/run
BUILD_DIR=${BUILD_DIR:-$(cd "$HERE/../.." && pwd)/build}
export BUILD_DIR
npass=0
nfail=0
pass() { echo "selftest: PASS $1"; npass=$((npass + 1)); }
fail() { echo "selftest: FAIL $1: $2"; nfail=$((nfail + 1)); }
t0=$SECONDS

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vm-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --help documents every variable run reads
help=$("$RUN" --help 2>&1) && ok=1 || ok=0
missing=
for v in BUILD_DIR VM_CACHE VM_SHARE VM_TIMEOUT VM_BOOT_RETRIES VM_CPUS VM_MEM VM_EXTRA_BINS \
	VM_EXTRA_MODULES VM_ENV VM_CMDLINE VM_QEMU VM_QEMU_ARGS VM_KERNEL VM_UNSTABLE_MIRROR VM_KERNEL_PKG \
	VM_LOG VM_KERNEL_LOG VM_NO_INSTALL; do
	grep -q "^  $v " <<<"$help" || missing="$missing $v"
done
# shellcheck disable=SC2016  # a literal "$" and "{" to strip
undocumented=$(grep -oE '\$\{?VM_[A-Z_]+' "$RUN" | tr -d '${' | sort -u |
	while read -r v; do grep -q "^  $v " <<<"$help" || echo "$v"; done | tr '\n' ' ')
if (( ok )) && [[ -z $missing && -z ${undocumented// } ]]; then
	pass help
else
	fail help "exit ok=$ok, missing:$missing, undocumented: $undocumented"
fi

# a missing script is an error before any boot
"$RUN" "$tmp/no-such-script" >/dev/null 2>&1
rc=$?
if [[ $rc == 125 ]]; then pass missing-script; else fail missing-script "exit $rc, want 125"; fi

# Prepare first so that the timings below are boot times.
"$RUN" --prepare || { fail prepare "tests/vm/run --prepare failed"; echo "$npass passed, $nfail failed"; exit 1; }

# (1) + (4..8): the guest checks, run from /repo; results come back via /share
share=$tmp/share
nonce="nonce-$RANDOM-$$"
have_gate=0; [[ -x $BUILD_DIR/gate/blkgate ]] && have_gate=1
have_ctl=0; [[ -x $BUILD_DIR/ctl/blkgatectl ]] && have_ctl=1
start=$SECONDS
VM_SHARE=$share VM_ENV="SELFTEST_VM_ENV=yes" BLKGATE_SELFTEST_PASSTHROUGH="a b" \
BLKGATE_SELFTEST_HAVE_blkgate=$have_gate BLKGATE_SELFTEST_HAVE_blkgatectl=$have_ctl \
	"$RUN" "$HERE/selftest-guest.sh" "$nonce" "two words" "it's" 2>&1 | tee "$tmp/guest.log"
rc=${PIPESTATUS[0]}
echo "selftest: guest checks took $((SECONDS - start)) s"
if [[ $rc == 0 ]]; then pass guest-exit-0; else fail guest-exit-0 "run exited $rc"; fi
if [[ -f $share/hello.txt && $(cat "$share/hello.txt") == "$nonce" ]]; then
	pass share-write
else
	fail share-write "host sees '$(cat "$share/hello.txt" 2>&1)', want '$nonce'"
fi
if grep -q 'blkgate-selftest: kernel warning on the console' "$tmp/guest.log"; then
	pass kernel-warnings-shown
else
	fail kernel-warnings-shown "a KERN_WARNING printk did not reach the console"
fi
boot=$(grep -oE '^\[vm\] up [0-9.]+s' "$tmp/guest.log" | grep -oE '[0-9.]+' || true)
[[ -n $boot ]] && echo "selftest: boot to script: ${boot} s (guest uptime)"
if [[ -f $share/results ]]; then
	while read -r verdict name why; do
		case $verdict in
		PASS) pass "vm:$name" ;;
		FAIL) fail "vm:${name%:}" "$why" ;;
		esac
	done <"$share/results"
	for want in ublk-control null_blk-not-preloaded null_blk losetup-dio ext4-on-loop fio-io_uring fio-libaio; do
		grep -q "^PASS $want\$" "$share/results" || grep -q "^FAIL $want:" "$share/results" ||
			fail "vm:$want" "did not run"
	done
else
	fail guest-results "no $share/results"
fi

# (2) exit status; a script outside the repo (copied into the VM), not
# executable, with a bash shebang
cat >"$tmp/exit3.sh" <<'S'
#!/bin/bash
[[ ${BASH_VERSION:-} ]] || exit 99
# an unexpected kernel report (see (2b)) must not hide a failure's own status
echo "<4>WARNING: CPU: 0 PID: $$ at blkgate-selftest.c:3 exit3+0x0/0x1" >/dev/kmsg
exit 3
S
start=$SECONDS
VM_SHARE=$share VM_LOG=$tmp/exit3.log "$RUN" "$tmp/exit3.sh"
rc=$?
if [[ $rc == 3 ]]; then pass exit-status; else fail exit-status "run exited $rc, want 3"; fi
if grep -qx 'BLKGATE_VM_EXIT=3' "$tmp/exit3.log"; then
	pass vm-log
else
	fail vm-log "VM_LOG has no exit marker"
fi
# the status's second copy, through the kernel log (a whole line with its timestamp)
if grep -qE '^\[ *[0-9]+\.[0-9]+\] BLKGATE_VM_EXIT=3$' "$tmp/exit3.log"; then
	pass exit-status-kernel-log
else
	fail exit-status-kernel-log "no kernel-log copy of the exit marker in VM_LOG"
fi
# a console status line split by a kernel message still reads, from the kernel log's copy
# (tests/vm/boot.sh's vm_exit_status on a console log as that race leaves it)
printf '%s\n' '[vm] up 4.1s: running x.sh' '' 'BLKGATE_VM_EXIT=[  140.1] EXT4-fs (ublkb0): I/O error' \
	'3' '[  140.2] BLKGATE_VM_EXIT=3' '[  140.5] reboot: Power down' >"$tmp/split.log"
got=$(LOG=$tmp/split.log bash -c '. "$1"; vm_exit_status' _ "$HERE/boot.sh")
if [[ $got == 3 ]]; then pass exit-status-split-line; else fail exit-status-split-line "read '$got', want 3"; fi
echo "selftest: exit-status boot took $((SECONDS - start)) s"

# (2b) the kernel's own bug reports (tests/vm/kernel-log-check): a script that passed while
# the kernel logged one that kernel-log-allow does not list exits 99, the report named on the
# console; a listed one passes; VM_KERNEL_LOG=ignore skips the check. The reports are fakes
# written to /dev/kmsg, as the kernel prints them.
cat >"$tmp/klog.sh" <<'S'
#!/bin/sh
case $1 in
unexpected)
	echo "<4>WARNING: CPU: 0 PID: $$ at blkgate-selftest.c:1 fake_report+0x0/0x1" >/dev/kmsg
	echo "<4>Modules linked in: blkgate-selftest" >/dev/kmsg ;;
known)
	echo "<3>UBSAN: array-index-out-of-bounds in /build/linux-7.2.13/io_uring/rsrc.c:1070:12" >/dev/kmsg
	echo "<3>index 0 is out of range for type 'bio_vec [*]'" >/dev/kmsg ;;
esac
exit 0
S
for c in "unexpected check 99 UNEXPECTED report: WARNING: CPU: 0 PID: [0-9]* at blkgate-selftest.c:1" \
	"known check 0 known kernel-side report (kernel-log-allow line [0-9]*): UBSAN" \
	"unexpected ignore 0"; do
	read -r what mode want pattern <<<"$c"
	VM_SHARE=$share VM_KERNEL_LOG=$mode "$RUN" "$tmp/klog.sh" "$what" >"$tmp/klog.out" 2>&1
	rc=$?
	if [[ $rc == "$want" ]] && { [[ -z $pattern ]] || grep -q "^\[vm\] kernel log: $pattern" "$tmp/klog.out"; } &&
		{ [[ $mode == check ]] || ! grep -q '\[vm\] kernel log:' "$tmp/klog.out"; }; then
		pass "kernel-log-$what-$mode"
	else
		tail -n 5 "$tmp/klog.out"
		fail "kernel-log-$what-$mode" "exit $rc (want $want${pattern:+, a line matching \"$pattern\"})"
	fi
done

# a kernel panic (no exit marker) is reported as a failure, with the oops
# on the console and its first line in the harness's verdict
printf 'echo crashing\necho c >/proc/sysrq-trigger\nsleep 60\n' >"$tmp/panic.sh"
VM_SHARE=$share "$RUN" "$tmp/panic.sh" >"$tmp/panic.out" 2>&1
rc=$?
tail -n 3 "$tmp/panic.out"
if [[ $rc == 125 ]] && grep -q 'Kernel panic' "$tmp/panic.out" &&
	grep -qE 'stopped without reporting the exit status .*: the guest kernel died: .*(Kernel panic|Oops: |BUG: )' "$tmp/panic.out"; then
	pass panic-detected
else
	fail panic-detected "exit $rc (want 125), see the output above"
fi
# ... and is not retried: the script had started
if grep -q 'booting again' "$tmp/panic.out"; then
	fail panic-not-retried "a panic after the script started was retried"
else
	pass panic-not-retried
fi

# a VM that dies before the script starts (here: no init, so the kernel panics) is booted
# again VM_BOOT_RETRIES times, then reported
VM_SHARE=$share VM_BOOT_RETRIES=1 VM_CMDLINE=rdinit=/no-such-init "$RUN" "$tmp/exit3.sh" >"$tmp/boot.out" 2>&1
rc=$?
tail -n 2 "$tmp/boot.out"
if [[ $rc == 125 ]] && [[ $(grep -c 'booting again (retry 1 of 1)' "$tmp/boot.out") == 1 ]] &&
	[[ $(grep -c '^\[ *[0-9.]*\] Kernel panic' "$tmp/boot.out") == 2 ]] && ! grep -q 'BLKGATE_VM_EXIT' "$tmp/boot.out"; then
	pass boot-failure-retried
else
	fail boot-failure-retried "exit $rc (want 125 after 2 boots), see $tmp/boot.out"
fi

# (3) timeout
printf 'echo sleeping\nsleep 60\n' >"$tmp/sleep.sh"
start=$SECONDS
VM_SHARE=$share VM_TIMEOUT=5 "$RUN" "$tmp/sleep.sh" >"$tmp/timeout.out" 2>"$tmp/timeout.err"
rc=$?
took=$((SECONDS - start))
cat "$tmp/timeout.out" "$tmp/timeout.err"
if [[ $rc == 124 ]] && grep -qx "tests/vm/run: timeout after 5 s running $tmp/sleep.sh" "$tmp/timeout.err" && (( took < 30 )); then
	pass timeout
else
	fail timeout "exit $rc (want 124) after ${took} s, stderr: $(tail -n 2 "$tmp/timeout.err")"
fi
if pgrep -f "qemu-system-x86_64.*$tmp" >/dev/null; then
	fail timeout-kills-qemu "a qemu is still running"
else
	pass timeout-kills-qemu
fi

# SIGTERM (like Ctrl-C, which is SIGINT) stops the run and kills qemu
VM_SHARE=$share "$RUN" "$tmp/sleep.sh" >"$tmp/term.out" 2>&1 &
runpid=$!
for _ in $(seq 150); do
	grep -q '^sleeping' "$tmp/term.out" && break
	sleep 0.2
done
qemus_before=$(pgrep -f "qemu-system-x86_64.*$tmp" | wc -l)
kill -TERM "$runpid"
wait "$runpid"
rc=$?
sleep 1
if [[ $rc == 143 && $qemus_before == 1 ]] && ! pgrep -f "qemu-system-x86_64.*$tmp" >/dev/null; then
	pass sigterm-kills-qemu
else
	fail sigterm-kills-qemu "exit $rc (want 143), qemus before: $qemus_before, after: $(pgrep -f "qemu-system-x86_64.*$tmp" | wc -l)"
fi

echo "selftest: total $((SECONDS - t0)) s"
echo "$npass passed, $nfail failed"
(( nfail == 0 ))
