#include "legacy_services/bounded_workers.hpp"

#include <utility>

namespace demo {

BoundedWorkers::BoundedWorkers(int threads, std::size_t queue_limit) : queue_limit_(queue_limit) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

BoundedWorkers::~BoundedWorkers() { stop(); }

bool BoundedWorkers::try_post(std::function<void()> work) {
  {
    std::lock_guard guard(mutex_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(work));
  }
  queued_.notify_one();
  return true;
}

void BoundedWorkers::stop() {
  {
    std::lock_guard guard(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  queued_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void BoundedWorkers::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is done
    auto work = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    work();
    lock.lock();
  }
}

}  // namespace demo
