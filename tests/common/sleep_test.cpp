// The background loops' pause: it lasts its duration unless a stop request ends it.

#include "common/sleep.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace compensatord {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

TEST(SleepFor, LastsItsDuration) {
  const std::stop_source never;
  const auto start = SteadyClock::now();
  sleep_for(never.get_token(), 50ms);
  EXPECT_GE(SteadyClock::now() - start, 50ms);
}

TEST(SleepFor, EndsAtOnceOnAStopRequest) {
  const auto start = SteadyClock::now();
  std::jthread sleeper([](const std::stop_token& stop) { sleep_for(stop, 1h); });
  std::this_thread::sleep_for(20ms);
  sleeper.request_stop();
  sleeper.join();
  EXPECT_LT(SteadyClock::now() - start, 10s);
}

TEST(SleepFor, ReturnsAtOnceWhenStopWasAlreadyRequested) {
  std::stop_source stopped;
  stopped.request_stop();
  const auto start = SteadyClock::now();
  sleep_for(stopped.get_token(), 1h);
  EXPECT_LT(SteadyClock::now() - start, 10s);
}

}  // namespace
}  // namespace compensatord
