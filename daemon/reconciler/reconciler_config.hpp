#pragma once
// The reconciler's options: `reconciler` (claims, workers, lease), `retry` and `kinds`.

#include "check/check_spec.hpp"
#include "common/backoff.hpp"
#include "yaml/reader.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace compensatord::reconciler {

using std::chrono::milliseconds;

struct ReconcilerConfig {
  int batch_size = 100;
  int workers = 16;
  milliseconds poll_interval{std::chrono::seconds(1)};
  milliseconds lease{std::chrono::seconds(60)};
  milliseconds shutdown_grace{std::chrono::seconds(30)};
  // /healthz fails when work is waiting and no claim or reconcile completed for this long.
  milliseconds stall_timeout{std::chrono::minutes(5)};
};

struct RetryPolicy {
  milliseconds initial_backoff{std::chrono::seconds(1)};
  milliseconds max_backoff{std::chrono::minutes(5)};
  double multiplier = 2.0;
  double jitter = 0.2;                           // +/- share of the delay, 0..1
  int max_attempts = 50;                         // then PARKED
  milliseconds max_age{std::chrono::hours(72)};  // since creation; then PARKED

  [[nodiscard]] Backoff backoff() const { return {initial_backoff, max_backoff, multiplier, jitter}; }
};

struct KindConfig {
  std::string name;
  milliseconds timeout{std::chrono::minutes(5)};  // due = created + timeout, unless the source gives a due time
  std::shared_ptr<const check::CheckSpec> check;  // required
  RetryPolicy retry;                              // defaults to the top-level `retry`
};

using KindConfigs = std::map<std::string, KindConfig>;

// Each parser reads its section (absent: the defaults) and reports each bad key to its errors.
ReconcilerConfig parse_reconciler(const yaml::Reader& section);
// The keys present in `section` over `base`: the top-level retry over the defaults, a kind's
// retry over the top-level one.
RetryPolicy parse_retry(const yaml::Reader& section, RetryPolicy base);
// `kinds`, a map of kind name to its timeout, check and retry; a kind without its own retry
// keys takes them from `top_level_retry`.
KindConfigs parse_kinds(const yaml::Reader& section, const RetryPolicy& top_level_retry);

}  // namespace compensatord::reconciler
