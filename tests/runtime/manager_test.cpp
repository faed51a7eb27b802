#include "runtime/manager.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace compensatord::runtime {
namespace {

using namespace std::chrono_literals;

// Runs until stopped, recording when it started and when it returned.
struct Recorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;

  Runnable until_stopped(const std::string& name) {
    return {name, [this, name](std::stop_token stop) {
              record(name + " started");
              std::mutex wait_mutex;
              std::condition_variable_any woken;
              std::unique_lock lock(wait_mutex);
              woken.wait(lock, stop, [] { return false; });
              record(name + " stopped");
            }};
  }

  void record(std::string event) {
    {
      std::lock_guard lock(mutex);
      events.push_back(std::move(event));
    }
    changed.notify_all();
  }

  bool wait_for_events(std::size_t count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 30s, [&] { return events.size() >= count; });
  }

  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return events;
  }
};

bool contains(const std::vector<std::string>& events, const std::string& event) {
  return std::find(events.begin(), events.end(), event) != events.end();
}

TEST(Manager, EveryRunnableRunsUntilTheStopAndAllReturnWithinTheGrace) {
  Recorder recorder;
  Manager manager(30s);
  manager.add(recorder.until_stopped("source"));
  manager.add(recorder.until_stopped("loop"));
  std::stop_source stop;
  std::jthread stopper([&] {
    ASSERT_TRUE(recorder.wait_for_events(2));
    stop.request_stop();
  });
  const StopReport report = manager.run(stop.get_token());
  EXPECT_TRUE(report.still_running.empty());
  EXPECT_FALSE(report.failed);
  const auto events = recorder.snapshot();
  ASSERT_EQ(events.size(), 4U);
  for (const char* event : {"source started", "loop started", "source stopped", "loop stopped"}) {
    EXPECT_TRUE(contains(events, event)) << event;
  }
}

TEST(Manager, ARunnableThatEndsAllStopsTheOthersWhenItReturnsByItself) {
  Recorder recorder;
  Manager manager(30s);
  manager.add(recorder.until_stopped("kafka_source"));
  manager.add({.name = "reconcile_loop",
               .run =
                   [&](std::stop_token) {
                     recorder.wait_for_events(1);
                     recorder.record("idle");
                   },
               .ends_all = true});
  const StopReport report = manager.run(std::stop_token{});  // nobody ever requests a stop
  EXPECT_TRUE(report.still_running.empty());
  EXPECT_TRUE(contains(recorder.snapshot(), "kafka_source stopped"));
}

TEST(Manager, ARunnableReturningByItselfWithoutEndingAllLeavesTheOthersRunning) {
  Recorder recorder;
  Manager manager(30s);
  manager.add({"one_poll", [&](std::stop_token) { recorder.record("polled"); }});
  manager.add(recorder.until_stopped("loop"));
  std::stop_source stop;
  std::jthread stopper([&] {
    ASSERT_TRUE(recorder.wait_for_events(2));
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(contains(recorder.snapshot(), "loop stopped")) << "the loop stopped before the stop";
    stop.request_stop();
  });
  EXPECT_TRUE(manager.run(stop.get_token()).still_running.empty());
  EXPECT_TRUE(contains(recorder.snapshot(), "loop stopped"));
}

TEST(Manager, AThrowingRunnableIsReportedAndStopsTheOthers) {
  Recorder recorder;
  Manager manager(30s);
  manager.add(recorder.until_stopped("loop"));
  manager.add({"legacy_log orders", [&](std::stop_token) {
                 recorder.wait_for_events(1);
                 throw std::runtime_error("connection refused");
               }});
  const StopReport report = manager.run(std::stop_token{});
  EXPECT_TRUE(report.failed);
  EXPECT_TRUE(report.still_running.empty());
  EXPECT_TRUE(contains(recorder.snapshot(), "loop stopped"));
}

TEST(Manager, ARunnableThatOutlivesTheGraceIsNamedAndRunReturnsAtTheEndOfTheGrace) {
  std::atomic<bool> release{false};
  Recorder recorder;
  std::stop_source stop;
  StopReport report;
  {
    Manager manager(200ms);
    manager.add(recorder.until_stopped("loop"));
    // A call that ignores the stop: it holds its thread until the test lets it go.
    manager.add({"stuck_call", [&](std::stop_token) {
                   recorder.record("stuck");
                   while (!release) std::this_thread::sleep_for(5ms);
                 }});
    std::jthread stopper([&] {
      ASSERT_TRUE(recorder.wait_for_events(2));
      stop.request_stop();
    });
    const auto before = std::chrono::steady_clock::now();
    report = manager.run(stop.get_token());
    const auto waited = std::chrono::steady_clock::now() - before;
    // The stuck call cannot end before `release`: without the grace, run would never return.
    EXPECT_LT(waited, 20s);
    release = true;  // lets ~Manager join it
  }
  EXPECT_EQ(report.still_running, std::vector<std::string>{"stuck_call"});
  EXPECT_TRUE(contains(recorder.snapshot(), "loop stopped"));
}

}  // namespace
}  // namespace compensatord::runtime
