// The sample services' own threads: the timer that carries the latency knob and the bounded
// order workers. Neither may ever make a caller wait.

#include "legacy_services/bounded_workers.hpp"
#include "legacy_services/delayed_calls.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace demo {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A record of what ran, that a test can wait on.
class Trace {
 public:
  void add(int what) {
    {
      std::lock_guard guard(mutex_);
      ran_.push_back(what);
    }
    changed_.notify_all();
  }
  // What ran, once `count` things have, or after 5 s.
  std::vector<int> wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return ran_.size() >= count; });
    return ran_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> ran_;
};

// Holds workers until opened.
class Gate {
 public:
  void pass() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard guard(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

TEST(DelayedCalls, RunInDueOrderAndNotBeforeTheirTime) {
  DelayedCalls delayed;
  Trace trace;
  Clock::time_point late_ran;
  const auto start = Clock::now();
  delayed.after(300ms, [&] {
    late_ran = Clock::now();
    trace.add(2);
  });
  delayed.after(50ms, [&] { trace.add(1); });  // due sooner than the one already waiting

  EXPECT_EQ(trace.wait_for(2), (std::vector<int>{1, 2}));
  EXPECT_GE(late_ran - start, 300ms);
}

TEST(DelayedCalls, AfterReturnsAtOnce) {
  DelayedCalls delayed;
  Trace trace;
  const auto start = Clock::now();
  for (int i = 0; i < 1000; ++i) delayed.after(200ms, [&trace, i] { trace.add(i); });
  EXPECT_LT(Clock::now() - start, 150ms);
  EXPECT_EQ(trace.wait_for(1000).size(), 1000u);
}

TEST(DelayedCalls, StopRunsWhatIsPendingAtOnceAndLaterCallsRunInPlace) {
  DelayedCalls delayed;
  Trace trace;
  delayed.after(60s, [&] { trace.add(1); });
  const auto start = Clock::now();
  delayed.stop();
  EXPECT_LT(Clock::now() - start, 1s);
  delayed.after(60s, [&] { trace.add(2); });
  EXPECT_EQ(trace.wait_for(2), (std::vector<int>{1, 2}));
}

TEST(BoundedWorkers, RefuseAtOnceWhenTheQueueIsFullAndFinishWhatWasQueued) {
  Gate gate;
  Trace trace;
  BoundedWorkers workers(1, 1);
  ASSERT_TRUE(workers.try_post([&] {
    trace.add(1);
    gate.pass();
  }));
  ASSERT_EQ(trace.wait_for(1).size(), 1u);  // the worker holds the first item
  EXPECT_TRUE(workers.try_post([&] { trace.add(2); }));
  EXPECT_FALSE(workers.try_post([&] { trace.add(3); }));

  gate.open();
  workers.stop();
  EXPECT_EQ(trace.wait_for(2), (std::vector<int>{1, 2}));
  EXPECT_FALSE(workers.try_post([&] { trace.add(4); }));
}

TEST(BoundedWorkers, RunOnAsManyThreadsAsGiven) {
  Gate gate;
  Trace trace;
  BoundedWorkers workers(3, 10);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(workers.try_post([&, i] {
      trace.add(i);
      gate.pass();
    }));
  }
  EXPECT_EQ(trace.wait_for(3).size(), 3u);  // all three started while none could finish
  gate.open();
}

}  // namespace
}  // namespace demo
