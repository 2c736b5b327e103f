// gate/fault_point.h — test-only crash points, for the kill-at-every-step test
// (tests/e2e/crash-steps/kill-at-every-step.sh).
//
// Each point sits right before one effect of a control operation on the world (persisting the
// state, a ublk control command, a mount, a claim, a gate word, a hook...). With
// BLKGATE_TEST_KILL_AT=N in the daemon's environment, the Nth point reached after
// ArmFaultPoints() kills the process with SIGKILL: a crash right before that step. With
// BLKGATE_TEST_FAULT_LOG=PATH every point reached appends "N WHAT" to PATH, so a test can see
// the steps of an operation. Without either variable a point is one relaxed atomic load; none
// is on the per-request path.
//
// Two more test-only faults, for the systemd tests (tests/e2e/system/):
//   BLKGATE_TEST_STUCK_QUEUE=PATH: once PATH exists, the next queue thread woken by the
//     watchdog's ping (heartbeat.h) removes it and blocks forever, as a stuck queue thread
//     would (one thread, once); checked only on those wake-ups, never per request.
//   BLKGATE_TEST_RESTORE_DELAY_MS=N: the start waits N ms before restoring the volumes, so a
//     test can watch the service still "activating".
//
// Thread-safety: any thread.
#pragma once

namespace blkgate {

// Points count from here on (the daemon: once its start, restore included, is done). Reads
// the environment.
void ArmFaultPoints() noexcept;
// One step; `what` names it for the log.
void FaultPoint(const char* what) noexcept;
// Whether BLKGATE_TEST_STUCK_QUEUE names a file that exists (removed: the caller gets stuck).
bool TestQueueStuck() noexcept;
// Never returns (the process can still be killed).
[[noreturn]] void StuckForever() noexcept;
// Sleeps BLKGATE_TEST_RESTORE_DELAY_MS, if set.
void TestRestoreDelay() noexcept;

}  // namespace blkgate
