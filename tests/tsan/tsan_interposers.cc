// ThreadSanitizer build only (NSMD_TSAN): tells TSan about absl::Mutex,
// absl::CondVar and absl::Notification, and about the C11 threads
// librdkafka uses (below).
//
// Debian's Abseil is a shared library built without TSan, so its lock and
// wait functions carry no TSan annotations: every access to a member
// guarded by an absl::Mutex looked like a race. Linked into each program of
// the TSan build, the functions below take precedence over the library's
// (the dynamic linker binds the program's own definitions first); each calls
// the library's function, found with dlsym(RTLD_NEXT), and tells TSan of the
// happens-before edge: acquiring after a lock or a wait returns, releasing
// before an unlock or a wait starts. Only the functions nsmd and its tests
// call are covered; a new kind of use needs its entry here.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

// The library's definition of the function whose mangled name is `name`.
template <typename F>
F Next(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

// A condition evaluated inside the library (by the waiter, or by the thread
// that unlocks on its behalf) reads guarded state while the library holds
// the mutex, which it may then release without a call TSan sees: the
// wrapper acquires before evaluating and releases after.
struct AnnotatedCondition {
  const absl::Condition* condition;
  absl::Mutex* mu;
  static bool Eval(void* arg) {
    auto* self = static_cast<AnnotatedCondition*>(arg);
    __tsan_acquire(self->mu);
    const bool result = self->condition->Eval();
    __tsan_release(self->mu);
    return result;
  }
};

}  // namespace

// The mangled names are those of Debian's Abseil (inline namespace debian3);
// another build of Abseil aborts at the first call (Next) instead of
// running unannotated.
#define NSMD_NEXT(type, name) static const auto next = Next<type>(name)

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  NSMD_NEXT(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  next(this);
  __tsan_acquire(this);
}

void Mutex::ReaderLock() {
  NSMD_NEXT(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  next(this);
  __tsan_acquire(this);
}

bool Mutex::TryLock() {
  NSMD_NEXT(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  const bool locked = next(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::Unlock() {
  NSMD_NEXT(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  __tsan_release(this);
  next(this);
}

void Mutex::ReaderUnlock() {
  NSMD_NEXT(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  __tsan_release(this);
  next(this);
}

void Mutex::Await(const Condition& cond) {
  NSMD_NEXT(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  AnnotatedCondition annotated{&cond, this};
  __tsan_release(this);
  next(this, Condition(&AnnotatedCondition::Eval, &annotated));
  __tsan_acquire(this);
}

void Mutex::LockWhen(const Condition& cond) {
  NSMD_NEXT(void (*)(Mutex*, const Condition&),
            "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  AnnotatedCondition annotated{&cond, this};
  next(this, Condition(&AnnotatedCondition::Eval, &annotated));
  __tsan_acquire(this);
}

void CondVar::Wait(Mutex* mu) {
  NSMD_NEXT(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  next(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  NSMD_NEXT(bool (*)(CondVar*, Mutex*, absl::Time),
            "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool timed_out = next(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  NSMD_NEXT(bool (*)(CondVar*, Mutex*, absl::Duration),
            "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool timed_out = next(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

void Notification::Notify() {
  NSMD_NEXT(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(this);
  next(this);
}

void Notification::WaitForNotification() const {
  NSMD_NEXT(void (*)(const Notification*),
            "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  next(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  NSMD_NEXT(bool (*)(const Notification*, absl::Duration),
            "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = next(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl

// librdkafka (Debian's) runs its threads with C11 thrd_create and locks with
// mtx_*/cnd_*, which clang 14's TSan does not intercept: its threads had no
// TSan state and crashed in TSan's calloc. glibc's C11 objects are its
// pthread objects (thrd_t is pthread_t, mtx_t and cnd_t wrap
// pthread_mutex_t and pthread_cond_t), so these forward to the pthread
// functions, which TSan intercepts.
namespace {

int FromPthread(int err) {
  switch (err) {
    case 0: return thrd_success;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

struct ThreadStart {
  thrd_start_t fn;
  void* arg;
  static void* Run(void* p) {
    const ThreadStart start = *static_cast<ThreadStart*>(p);
    delete static_cast<ThreadStart*>(p);
    return reinterpret_cast<void*>(static_cast<intptr_t>(start.fn(start.arg)));
  }
};

pthread_mutex_t* Pthread(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* Pthread(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
  auto* start = new ThreadStart{fn, arg};
  const int err = pthread_create(thr, nullptr, &ThreadStart::Run, start);
  if (err != 0) delete start;
  return FromPthread(err);
}

int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  const int err = pthread_join(thr, &out);
  if (err == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return FromPthread(err);
}

int thrd_detach(thrd_t thr) { return FromPthread(pthread_detach(thr)); }

int mtx_lock(mtx_t* m) { return FromPthread(pthread_mutex_lock(Pthread(m))); }
int mtx_trylock(mtx_t* m) { return FromPthread(pthread_mutex_trylock(Pthread(m))); }
int mtx_unlock(mtx_t* m) { return FromPthread(pthread_mutex_unlock(Pthread(m))); }
int mtx_timedlock(mtx_t* m, const struct timespec* t) {
  return FromPthread(pthread_mutex_timedlock(Pthread(m), t));
}

int cnd_wait(cnd_t* c, mtx_t* m) { return FromPthread(pthread_cond_wait(Pthread(c), Pthread(m))); }
int cnd_timedwait(cnd_t* c, mtx_t* m, const struct timespec* t) {
  return FromPthread(pthread_cond_timedwait(Pthread(c), Pthread(m), t));
}
int cnd_signal(cnd_t* c) { return FromPthread(pthread_cond_signal(Pthread(c))); }
int cnd_broadcast(cnd_t* c) { return FromPthread(pthread_cond_broadcast(Pthread(c))); }

}  // extern "C"
