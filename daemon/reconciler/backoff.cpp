#include "reconciler/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace compensatord::reconciler {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, double unit_random) {
  const double initial = static_cast<double>(policy.initial_backoff.count());
  const double cap = static_cast<double>(policy.max_backoff.count());
  // Growth stops at the cap; computing past it would overflow for large attempt counts.
  double delay = initial;
  for (int i = 1; i < attempt && delay < cap; ++i) delay *= policy.multiplier;
  delay = std::min(delay, cap);
  const double spread = policy.jitter * (2.0 * std::clamp(unit_random, 0.0, 1.0) - 1.0);
  delay = std::clamp(delay * (1.0 + spread), 1.0, cap);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(delay)));
}

}  // namespace compensatord::reconciler
