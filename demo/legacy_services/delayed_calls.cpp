#include "legacy_services/delayed_calls.hpp"

#include <utility>

namespace demo {

DelayedCalls::DelayedCalls() : thread_([this] { run(); }) {}

DelayedCalls::~DelayedCalls() { stop(); }

void DelayedCalls::after(std::chrono::milliseconds delay, std::function<void()> call) {
  {
    std::lock_guard guard(mutex_);
    if (!stopping_) {
      pending_.emplace(Clock::now() + delay, std::move(call));
      changed_.notify_one();
      return;
    }
  }
  call();
}

void DelayedCalls::stop() {
  {
    std::lock_guard guard(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

void DelayedCalls::run() {
  std::unique_lock lock(mutex_);
  while (!(stopping_ && pending_.empty())) {
    if (pending_.empty()) {
      changed_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      continue;
    }
    const auto due = pending_.begin()->first;
    if (!stopping_ && due > Clock::now()) {
      // Only run() removes calls, so pending_ stays non-empty while this waits; wake early for a
      // stop or for a call that fell due sooner.
      changed_.wait_until(lock, due, [&] { return stopping_ || pending_.begin()->first < due; });
      continue;
    }
    auto call = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    lock.unlock();
    call();
    lock.lock();
  }
}

}  // namespace demo
