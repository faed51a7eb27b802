#pragma once
// Runs functions at a later time on one thread of its own, so that a service's added latency
// never holds a thread of cpprestsdk's shared pool asleep (the listener and every client in the
// process share that pool; 40 sleepers there and the process stops answering).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace demo {

class DelayedCalls {
 public:
  using Clock = std::chrono::steady_clock;

  DelayedCalls();
  ~DelayedCalls();  // stop()
  DelayedCalls(const DelayedCalls&) = delete;
  DelayedCalls& operator=(const DelayedCalls&) = delete;

  // Runs `call` on the timer thread once `delay` has passed; calls due at the same time run in
  // the order given. After stop() it runs `call` at once on the caller's thread, so that every
  // request is still answered while the services shut down. `call` must not throw.
  void after(std::chrono::milliseconds delay, std::function<void()> call);

  // Runs every pending call now, in due order, then ends the thread. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<Clock::time_point, std::function<void()>> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace demo
