// Proof that clang's thread-safety analysis is on and sees blkgate/mutex.h's annotations.
// Never linked: tests/run-all's clang step compiles it with -fsyntax-only -Wthread-safety -Werror
// once per case. BLKGATE_TS_CASE=0 is correct code and must compile (so a failure of the other
// cases cannot come from a broken header or include path); every other case makes one mistake
// the analysis must reject with a -Wthread-safety diagnostic. If a case compiles, the analysis
// (or an annotation) is off and the step fails.
#include "blkgate/mutex.h"

#ifndef BLKGATE_TS_CASE
#error "define BLKGATE_TS_CASE (0: correct code; 1..5: one mistake each)"
#endif

namespace blkgate {
namespace {

class Account {
 public:
  int Run() EXCLUDES(mu_) {
#if BLKGATE_TS_CASE == 0  // correct: every access under the lock
    MutexLock lock(&mu_);
    while (balance_ < 0) changed_.Wait(&mu_);
    DepositLocked(1);
    return balance_;
#elif BLKGATE_TS_CASE == 1  // a guarded member read without the lock
    return balance_;
#elif BLKGATE_TS_CASE == 2  // read after the MutexLock's scope ended
    { MutexLock lock(&mu_); }
    return balance_;
#elif BLKGATE_TS_CASE == 3  // a REQUIRES function called without the lock
    DepositLocked(1);
    return 0;
#elif BLKGATE_TS_CASE == 4  // waiting on a condition without holding the mutex
    changed_.Wait(&mu_);
    return 0;
#elif BLKGATE_TS_CASE == 5  // locked twice (Run EXCLUDES it, and Lock() acquires it again)
    MutexLock lock(&mu_);
    mu_.Lock();
    return balance_;
#else
#error "no such BLKGATE_TS_CASE"
#endif
  }

 private:
  void DepositLocked(int n) REQUIRES(mu_) {
    balance_ += n;
  }

  Mutex mu_;
  CondVar changed_;
  int balance_ GUARDED_BY(mu_) = 0;
};

}  // namespace

int UseAccount() {
  return Account().Run();
}

}  // namespace blkgate
