// The max_in_flight limiter: first come first served, every release wakes the oldest waiter,
// and a waiter gives up at its deadline.
#include "adapters/fair_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace compensatord::adapters {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

TEST(FairLimiter, TakesFreeSlotsAtOnceAndRefusesTheNextUntilItsDeadline) {
  FairLimiter limiter(2);
  EXPECT_TRUE(limiter.acquire_until(SteadyClock::now()));
  EXPECT_TRUE(limiter.acquire_until(SteadyClock::now()));
  const auto started = SteadyClock::now();
  EXPECT_FALSE(limiter.acquire_until(started + 50ms));
  EXPECT_GE(SteadyClock::now() - started, 50ms);
  EXPECT_EQ(limiter.in_use(), 2);
  EXPECT_EQ(limiter.waiting(), 0) << "a waiter that gave up leaves the line";
  limiter.release();
  EXPECT_TRUE(limiter.acquire_until(SteadyClock::now()));
}

TEST(FairLimiter, AFreedSlotGoesToTheOldestWaiterNotToANewcomer) {
  FairLimiter limiter(1);
  ASSERT_TRUE(limiter.acquire_until(SteadyClock::now()));
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::jthread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&, i] {
      ASSERT_TRUE(limiter.acquire_until(SteadyClock::now() + 10s));
      {
        std::lock_guard lock(mutex);
        order.push_back(i);
      }
      limiter.release();
    });
    // Wait until this waiter stands in line before the next one comes.
    while (limiter.waiting() != i + 1) std::this_thread::yield();
  }
  EXPECT_FALSE(limiter.acquire_until(SteadyClock::now() + 20ms)) << "a newcomer must queue behind the waiters";
  limiter.release();
  waiters.clear();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(limiter.in_use(), 0);
}

// Many more callers than slots, each holding its slot briefly: nobody is lost, nobody exceeds
// the limit, and every waiter is served long before its (generous) deadline.
TEST(FairLimiter, ManyCallersNeverExceedTheLimitAndAllAreServed) {
  constexpr int kSlots = 2;
  constexpr int kCallers = 64;
  constexpr int kRounds = 50;
  FairLimiter limiter(kSlots);
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::atomic<int> served{0};
  {
    std::vector<std::jthread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&] {
        for (int r = 0; r < kRounds; ++r) {
          ASSERT_TRUE(limiter.acquire_until(SteadyClock::now() + 30s));
          const int now = ++inside;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::yield();
          --inside;
          ++served;
          limiter.release();
        }
      });
    }
  }
  EXPECT_EQ(served.load(), kCallers * kRounds);
  EXPECT_LE(most.load(), kSlots);
  EXPECT_EQ(limiter.in_use(), 0);
}

TEST(FairLimiter, RefusesNonsense) {
  EXPECT_THROW(FairLimiter(0), std::invalid_argument);
  FairLimiter limiter(1);
  EXPECT_THROW(limiter.release(), std::logic_error);
  EXPECT_THROW(limiter.resize(0), std::invalid_argument);
}

// A reload that lowers max_in_flight below the calls in flight: nobody gets a slot until the
// surplus has come back, then the new limit holds.
TEST(FairLimiter, AShrunkLimitRetiresTheSurplusBeforeServingAnyone) {
  FairLimiter limiter(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limiter.acquire_until(SteadyClock::now()));
  limiter.resize(1);
  EXPECT_EQ(limiter.in_use(), 3);
  limiter.release();
  EXPECT_FALSE(limiter.acquire_until(SteadyClock::now() + 10ms)) << "two calls still hold slots of the old limit";
  limiter.release();
  EXPECT_FALSE(limiter.acquire_until(SteadyClock::now() + 10ms)) << "one call holds the only slot";
  limiter.release();
  EXPECT_TRUE(limiter.acquire_until(SteadyClock::now()));
  EXPECT_FALSE(limiter.acquire_until(SteadyClock::now() + 10ms));
  limiter.release();
  EXPECT_EQ(limiter.in_use(), 0);
  EXPECT_THROW(limiter.release(), std::logic_error);
}

TEST(FairLimiter, AGrownLimitServesTheWaitersAtOnce) {
  FairLimiter limiter(1);
  ASSERT_TRUE(limiter.acquire_until(SteadyClock::now()));
  std::atomic<int> served{0};
  std::vector<std::jthread> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&] {
      ASSERT_TRUE(limiter.acquire_until(SteadyClock::now() + 30s));
      ++served;
    });
  }
  while (limiter.waiting() != 2) std::this_thread::yield();
  limiter.resize(3);
  waiters.clear();
  EXPECT_EQ(served.load(), 2);
  EXPECT_EQ(limiter.in_use(), 3);
  EXPECT_EQ(limiter.waiting(), 0);
}

}  // namespace
}  // namespace compensatord::adapters
