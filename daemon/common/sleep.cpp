#include "common/sleep.hpp"

#include <condition_variable>
#include <mutex>

namespace compensatord {

void sleep_for(const std::stop_token& stop, std::chrono::milliseconds duration) {
  // Nothing notifies it: only the stop request (or the time) wakes the wait.
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  wake.wait_for(lock, stop, duration, [] { return false; });
}

}  // namespace compensatord
