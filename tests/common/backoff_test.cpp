#include "common/backoff.hpp"

#include <gtest/gtest.h>

namespace compensatord {
namespace {

using std::chrono::milliseconds;

Backoff policy(double jitter) { return Backoff{milliseconds(1000), milliseconds(60'000), 2.0, jitter}; }

TEST(Backoff, DoublesFromTheInitialDelayWithoutJitter) {
  const auto p = policy(0.0);
  EXPECT_EQ(p.after(1, 0.5), milliseconds(1000));
  EXPECT_EQ(p.after(2, 0.5), milliseconds(2000));
  EXPECT_EQ(p.after(3, 0.5), milliseconds(4000));
  EXPECT_EQ(p.after(6, 0.5), milliseconds(32'000));
}

TEST(Backoff, IsCappedAtMaxBackoff) {
  const auto p = policy(0.0);
  EXPECT_EQ(p.after(7, 0.5), milliseconds(60'000));
  EXPECT_EQ(p.after(1'000'000, 0.5), milliseconds(60'000));
}

TEST(Backoff, JitterSpreadsWithinItsShareAndNeverPastTheCap) {
  const auto p = policy(0.2);
  EXPECT_EQ(p.after(3, 0.0), milliseconds(3200));
  EXPECT_EQ(p.after(3, 0.5), milliseconds(4000));
  EXPECT_EQ(p.after(3, 0.999999), milliseconds(4800));
  EXPECT_EQ(p.after(50, 0.999999), milliseconds(60'000));
  EXPECT_EQ(p.after(50, 0.0), milliseconds(48'000));
}

TEST(Backoff, OutOfRangeRandomIsClamped) {
  const auto p = policy(0.5);
  EXPECT_EQ(p.after(1, -3.0), milliseconds(500));
  EXPECT_EQ(p.after(1, 7.0), milliseconds(1500));
}

TEST(Backoff, MultiplierOneIsAConstantDelay) {
  auto p = policy(0.0);
  p.multiplier = 1.0;
  EXPECT_EQ(p.after(40, 0.3), milliseconds(1000));
}

}  // namespace
}  // namespace compensatord
