#pragma once
// The benchmarks' one statistic: the value at fraction `p` (0.5 the median) of the sorted sample.

#include <algorithm>
#include <cstddef>
#include <vector>

namespace compensatord::bench {

// 0 for an empty sample.
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

}  // namespace compensatord::bench
