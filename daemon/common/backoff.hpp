#pragma once
// Capped exponential backoff with jitter: the reconciler's per-transaction retries
// (`retry`, docs/design.md "Retries") and the Kafka source's reconnects use this one.

#include <chrono>

namespace compensatord {

struct Backoff {
  std::chrono::milliseconds initial{0};
  std::chrono::milliseconds max{0};
  double multiplier = 2.0;
  double jitter = 0.0;  // +/- share of the delay, 0..1

  // The delay after `failures` failed tries in a row (failures >= 1): initial * multiplier^(failures-1),
  // capped at max, then spread by +/- jitter. `unit_random` is a uniform value in [0, 1) from
  // the caller, so the function stays pure and testable; 0.5 spreads nothing.
  [[nodiscard]] std::chrono::milliseconds after(int failures, double unit_random = 0.5) const;
};

}  // namespace compensatord
