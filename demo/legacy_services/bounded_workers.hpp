#pragma once
// A few threads of their own with a bounded queue, for the order service's database work: a
// database call must not hold a thread of cpprestsdk's shared pool, and a caller that finds the
// queue full is told so at once (the service answers 503) rather than waiting for room.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace demo {

class BoundedWorkers {
 public:
  // `threads` >= 1 run the work; at most `queue_limit` items wait for a thread.
  BoundedWorkers(int threads, std::size_t queue_limit);
  ~BoundedWorkers();  // stop()
  BoundedWorkers(const BoundedWorkers&) = delete;
  BoundedWorkers& operator=(const BoundedWorkers&) = delete;

  // Queues `work` and returns true, or returns false at once when the queue is full or the
  // workers are stopping. `work` must not throw.
  [[nodiscard]] bool try_post(std::function<void()> work);

  // Refuses new work, finishes what is queued, joins the threads. Idempotent.
  void stop();

 private:
  void run();

  const std::size_t queue_limit_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace demo
