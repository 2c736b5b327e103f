# shellcheck shell=bash disable=SC2034  # sets timed_out, qrc, elapsed for the caller
# tests/vm/boot.sh - one qemu run with a time limit, its console streamed and logged, and the
# exit status the guest printed. Sourced by tests/vm/run and tests/vm/sysvm (bash).
#
# The guest reports its script's status as a console line ending in BLKGATE_VM_EXIT=N.

# POSIX single-quoting of $1, for files the guest sources.
shq() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

# vm_boot QEMU ARGS...: runs qemu until it exits or VM_TIMEOUT seconds pass (then it is
# killed). Its console (qemu's stdout; the serial port is `-serial stdio`-like) goes to
# stdout, each line prefixed with $VM_CONSOLE_PREFIX, and, without the prefix, to $LOG
# (and a copy to $VM_LOG if set). Needs $TMP (a private directory). Sets timed_out (0/1),
# qrc (qemu's status) and elapsed (seconds, one decimal); QPID is qemu's pid while it runs,
# for the caller's traps.
vm_boot() {
	rm -f "$TMP/console"
	mkfifo "$TMP/console"
	# Without the serial \r; the prefix only on the stream, not in the log.
	sed -u 's/\r$//' <"$TMP/console" | tee "$LOG" | sed -u "s|^|${VM_CONSOLE_PREFIX:-}|" &
	local reader=$! start deadline
	start=$(date +%s.%N)
	"$@" </dev/null >"$TMP/console" &
	QPID=$!

	timed_out=0
	deadline=$((SECONDS + VM_TIMEOUT))
	while kill -0 "$QPID" 2>/dev/null; do
		if (( SECONDS >= deadline )); then
			timed_out=1
			kill -TERM "$QPID" 2>/dev/null || true
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$QPID" 2>/dev/null || break
				sleep 0.2
			done
			kill -KILL "$QPID" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	qrc=0
	wait "$QPID" || qrc=$?
	QPID=
	wait "$reader" || true
	elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	[[ -n ${VM_LOG:-} ]] && cp "$LOG" "$VM_LOG"
	return 0
}

# kernel_log_setting: VM_KERNEL_LOG defaulted (check) and checked (check or ignore; else die).
kernel_log_setting() {
	VM_KERNEL_LOG=${VM_KERNEL_LOG:-check}
	[[ $VM_KERNEL_LOG == check || $VM_KERNEL_LOG == ignore ]] ||
		die "VM_KERNEL_LOG must be check or ignore: $VM_KERNEL_LOG"
}

# vm_exit_status: prints N from the last BLKGATE_VM_EXIT=N line of $LOG (the guest prints
# it after its script, on the console and through the kernel log: a kernel message may share
# the console's line before it, the kernel log's copy has its timestamp there), or nothing.
vm_exit_status() {
	local marker
	marker=$(grep -a -o -E 'BLKGATE_VM_EXIT=[0-9]+$' "$LOG" | tail -n1 || true)
	[[ -n $marker ]] && echo "${marker#BLKGATE_VM_EXIT=}"
	return 0
}

# vm_death_reason: for a VM that stopped without reporting a status, what its console says
# killed it: the kernel's first panic, oops or BUG line in $LOG, or where to look.
vm_death_reason() {
	local line
	line=$(grep -a -m1 -E 'Kernel panic|Oops: |BUG: |Attempted to kill init' "$LOG" | cut -c1-160 || true)
	if [[ -n $line ]]; then
		echo "the guest kernel died: $line (see the console above)"
	else
		echo "no panic on the console: qemu killed, or the console lost the status line? See the console above."
	fi
}
