#include "runtime/manager.hpp"

#include "log/log.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace compensatord::runtime {

namespace {
constexpr log::Log kLog{"compensatord"};
}  // namespace

// What the runnables' threads tell the thread that waits in run().
struct Manager::Running {
  std::mutex mutex;
  std::condition_variable_any changed;
  std::vector<bool> returned;
  bool end_all = false;
  bool failed = false;
};

Manager::Manager(std::chrono::milliseconds grace) : grace_(grace) {}

Manager::~Manager() = default;

void Manager::add(Runnable runnable) { runnables_.push_back(std::move(runnable)); }

StopReport Manager::run(std::stop_token stop) {
  auto running = std::make_shared<Running>();
  running->returned.assign(runnables_.size(), false);
  std::stop_source stop_all;
  for (std::size_t i = 0; i < runnables_.size(); ++i) {
    // The thread shares `running` and owns a copy of its runnable: a thread still running after
    // the grace period outlives nothing it uses but what the runnable itself refers to.
    threads_.emplace_back([running, i, runnable = runnables_[i], token = stop_all.get_token()] {
      bool threw = false;
      try {
        runnable.run(token);
      } catch (const std::exception& e) {
        threw = true;
        kLog.critical("{} failed: {}", runnable.name, e.what());
      }
      {
        std::lock_guard lock(running->mutex);
        running->returned[i] = true;
        running->failed = running->failed || threw;
        running->end_all = running->end_all || threw || (runnable.ends_all && !token.stop_requested());
      }
      running->changed.notify_all();
    });
  }
  {
    std::unique_lock lock(running->mutex);
    running->changed.wait(lock, stop, [&] { return running->end_all; });
  }
  stop_all.request_stop();
  StopReport report;
  std::unique_lock lock(running->mutex);
  const auto all_returned = [&] {
    for (bool returned : running->returned) {
      if (!returned) return false;
    }
    return true;
  };
  if (!running->changed.wait_for(lock, grace_, all_returned)) {
    for (std::size_t i = 0; i < runnables_.size(); ++i) {
      if (!running->returned[i]) report.still_running.push_back(runnables_[i].name);
    }
  }
  report.failed = running->failed;
  return report;
}

}  // namespace compensatord::runtime
