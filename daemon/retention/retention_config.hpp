#pragma once
// `retention`: which finished history the retention job deletes, and how gently.

#include "yaml/reader.hpp"

#include <chrono>
#include <optional>

namespace compensatord::retention {

using std::chrono::milliseconds;

// A limit of nullopt (`off`) keeps those rows for ever; with both limits off the job does not run.
struct RetentionConfig {
  // CONFIRMED and CANCELLED transactions, counted from finished_at.
  std::optional<milliseconds> finished_after{std::chrono::hours(24 * 30)};
  // PARKED (and ABANDONED) transactions, counted from their last change: deleting one gives up on
  // its compensation, so it is a decision an operator takes explicitly.
  std::optional<milliseconds> parked_after;
  milliseconds interval{std::chrono::minutes(1)};      // between two runs
  int batch_size = 1000;                               // transactions per DELETE statement
  milliseconds pause{std::chrono::milliseconds(100)};  // between two batches of one run
};

// Reads the `retention` section (absent: the defaults), reporting each bad key to its errors.
RetentionConfig parse_retention(const yaml::Reader& section);

}  // namespace compensatord::retention
