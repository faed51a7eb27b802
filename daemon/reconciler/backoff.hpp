#pragma once
// Capped exponential backoff with jitter, per transaction (docs/design.md, "Retries").

#include "reconciler/reconciler_config.hpp"

#include <chrono>

namespace compensatord::reconciler {

// Delay before try number `attempt` + 1, after `attempt` failed tries (attempt >= 1):
// initial_backoff * multiplier^(attempt-1), capped at max_backoff, then spread by
// +/- jitter. `unit_random` is a uniform value in [0, 1) from the caller, so the
// function stays pure and testable.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit_random);

}  // namespace compensatord::reconciler
