#include "adapters/fair_limiter.hpp"

#include <stdexcept>

namespace compensatord::adapters {

FairLimiter::FairLimiter(int slots) : slots_(slots), free_(slots) {
  if (slots < 1) throw std::invalid_argument("FairLimiter: slots must be at least 1");
}

bool FairLimiter::acquire_until(Deadline deadline) {
  std::unique_lock lock(mutex_);
  if (free_ > 0 && waiters_.empty()) {
    --free_;
    return true;
  }
  Waiter self;
  const auto position = waiters_.insert(waiters_.end(), &self);
  if (self.wake.wait_until(lock, deadline, [&] { return self.granted; })) return true;
  // Timed out: leave the line. A slot handed over meanwhile would have set `granted` under the
  // lock, and the predicate would have seen it.
  waiters_.erase(position);
  return false;
}

void FairLimiter::release() {
  std::lock_guard lock(mutex_);
  if (free_ < 0 || waiters_.empty()) {
    if (free_ == slots_) throw std::logic_error("FairLimiter: release() without a slot taken");
    ++free_;
    return;
  }
  Waiter* oldest = waiters_.front();
  waiters_.pop_front();
  oldest->granted = true;
  // Notified under the lock: the waiter cannot return (and its condition variable go away)
  // before this call is done with it.
  oldest->wake.notify_one();
}

void FairLimiter::resize(int slots) {
  if (slots < 1) throw std::invalid_argument("FairLimiter: slots must be at least 1");
  std::lock_guard lock(mutex_);
  free_ += slots - slots_;
  slots_ = slots;
  // A grown limit serves those already waiting first, oldest first, as release() would.
  while (free_ > 0 && !waiters_.empty()) {
    Waiter* oldest = waiters_.front();
    waiters_.pop_front();
    oldest->granted = true;
    oldest->wake.notify_one();
    --free_;
  }
}

int FairLimiter::in_use() const {
  std::lock_guard lock(mutex_);
  return slots_ - free_;
}

int FairLimiter::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(waiters_.size());
}

}  // namespace compensatord::adapters
