#include "common/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace compensatord {

std::chrono::milliseconds Backoff::after(int failures, double unit_random) const {
  const double first = static_cast<double>(initial.count());
  const double cap = static_cast<double>(max.count());
  // Growth stops at the cap; computing past it would overflow for large failure counts.
  double delay = first;
  for (int i = 1; i < failures && delay < cap; ++i) delay *= multiplier;
  delay = std::min(delay, cap);
  const double spread = jitter * (2.0 * std::clamp(unit_random, 0.0, 1.0) - 1.0);
  delay = std::clamp(delay * (1.0 + spread), 1.0, cap);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(delay)));
}

}  // namespace compensatord
