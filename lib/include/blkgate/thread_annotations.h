// blkgate/thread_annotations.h — clang's thread-safety analysis (-Wthread-safety) for blkgate.
//
// Annotate what a lock protects and which functions need it, and clang proves at compile time
// that every access happens with the lock held:
//
//   class Registry {
//    public:
//     void Add(Item i) EXCLUDES(mu_) { MutexLock lock(&mu_); AddLocked(std::move(i)); }
//    private:
//     void AddLocked(Item i) REQUIRES(mu_);
//     Mutex mu_;
//     std::vector<Item> items_ GUARDED_BY(mu_);
//   };
//
// The capability types are blkgate::Mutex and blkgate::MutexLock (blkgate/mutex.h). Every macro
// expands to nothing except under clang, so GCC builds are unaffected; tests/run-all's clang
// step builds the tree with -Wthread-safety -Werror.
#pragma once

#if defined(__clang__)
#define BLKGATE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define BLKGATE_THREAD_ANNOTATION(x)
#endif

// A class whose objects are locks ("mutex" names the kind in diagnostics).
#define CAPABILITY(kind) BLKGATE_THREAD_ANNOTATION(capability(kind))
// An RAII class that holds a capability from its constructor to its destructor.
#define SCOPED_CAPABILITY BLKGATE_THREAD_ANNOTATION(scoped_lockable)

// A member that may only be accessed with the lock held (shared for reads, exclusive for writes).
#define GUARDED_BY(mu) BLKGATE_THREAD_ANNOTATION(guarded_by(mu))
// A pointer member whose pointee may only be accessed with the lock held.
#define PT_GUARDED_BY(mu) BLKGATE_THREAD_ANNOTATION(pt_guarded_by(mu))

// Lock order: this lock is taken only after (before) the named ones, never the other way.
#define ACQUIRED_AFTER(...) BLKGATE_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) BLKGATE_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))

// The caller must hold the lock(s), exclusively or at least shared.
#define REQUIRES(...) BLKGATE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) BLKGATE_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// The caller must not hold the lock(s): the function takes them itself.
#define EXCLUDES(...) BLKGATE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// The function takes / gives up the lock(s) (on a lock's own methods: the object itself).
#define ACQUIRE(...) BLKGATE_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) BLKGATE_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
// The function takes the lock when it returns `result` (e.g. TRY_ACQUIRE(true)).
#define TRY_ACQUIRE(...) BLKGATE_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// The function checks at run time that the lock is held; the analysis trusts it from then on.
#define ASSERT_CAPABILITY(x) BLKGATE_THREAD_ANNOTATION(assert_capability(x))

// The function returns a reference to the lock (an accessor the analysis can see through).
#define RETURN_CAPABILITY(x) BLKGATE_THREAD_ANNOTATION(lock_returned(x))

// Turns the analysis off for one function. Only for what it cannot express (a lock handed
// between functions, a lock adaptor), with a comment saying why the function is safe.
#define NO_THREAD_SAFETY_ANALYSIS BLKGATE_THREAD_ANNOTATION(no_thread_safety_analysis)
