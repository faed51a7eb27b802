#pragma once
// A limit on concurrent calls (a participant's max_in_flight) that is fair and wakes reliably:
// waiters are served first come, first served; a freed slot is handed to the oldest waiter
// directly, so a newcomer cannot overtake it; a waiter gives up at its deadline.
//
// Built on std::mutex and one std::condition_variable per waiter, not on std::counting_semaphore
// or std::atomic::wait: libstdc++'s semaphore can lose a wake-up (GCC bug 98033).

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>

namespace compensatord::adapters {

class FairLimiter {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  explicit FairLimiter(int slots);
  FairLimiter(const FairLimiter&) = delete;
  FairLimiter& operator=(const FairLimiter&) = delete;

  // Takes a slot, waiting behind earlier callers until one is free or `deadline` passes.
  // True when a slot was taken: the caller must release() it exactly once.
  [[nodiscard]] bool acquire_until(Deadline deadline);
  void release();
  // Changes the limit (a config reload changed max_in_flight). Slots taken stay taken: when the
  // limit shrinks below them, releases retire the surplus before anyone waiting gets a slot.
  void resize(int slots);

  [[nodiscard]] int in_use() const;
  [[nodiscard]] int waiting() const;

 private:
  struct Waiter {
    std::condition_variable wake;
    bool granted = false;
  };

  int slots_;
  mutable std::mutex mutex_;
  int free_;                    // negative while more slots are taken than a shrunk limit allows
  std::list<Waiter*> waiters_;  // oldest first; each lives on its caller's stack while it waits
};

}  // namespace compensatord::adapters
