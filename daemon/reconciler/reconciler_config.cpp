#include "reconciler/reconciler_config.hpp"

#include "check/check.hpp"
#include "yaml/fields.hpp"

namespace compensatord::reconciler {
namespace {

KindConfig parse_kind(const yaml::Reader& kind, const std::string& name, const RetryPolicy& top_level_retry) {
  KindConfig config;
  config.name = name;
  config.retry = top_level_retry;
  if (!yaml::is_section(kind)) return config;
  kind.reject_unknown_keys({"timeout", "check", "retry"});
  yaml::read_duration(kind, "timeout", config.timeout);
  yaml::Reader check = kind.child("check");
  if (check.present()) {
    config.check = check::parse_check(check);
  } else {
    check.error("required key is missing: every kind needs a check (sql or http)");
  }
  config.retry = parse_retry(kind.child("retry"), top_level_retry);
  return config;
}

}  // namespace

ReconcilerConfig parse_reconciler(const yaml::Reader& section) {
  ReconcilerConfig reconciler;
  if (!yaml::is_section(section)) return reconciler;
  section.reject_unknown_keys({"batch_size", "workers", "poll_interval", "lease", "shutdown_grace", "stall_timeout"});
  yaml::read_integer(section, "batch_size", 1, 10000, reconciler.batch_size);
  yaml::read_integer(section, "workers", 1, 1024, reconciler.workers);
  yaml::read_duration(section, "poll_interval", reconciler.poll_interval);
  yaml::read_duration(section, "lease", reconciler.lease);
  yaml::read_duration(section, "shutdown_grace", reconciler.shutdown_grace);
  yaml::read_duration(section, "stall_timeout", reconciler.stall_timeout);
  return reconciler;
}

RetryPolicy parse_retry(const yaml::Reader& section, RetryPolicy base) {
  if (!yaml::is_section(section)) return base;
  section.reject_unknown_keys({"initial_backoff", "max_backoff", "multiplier", "jitter", "max_attempts", "max_age"});
  yaml::read_duration(section, "initial_backoff", base.initial_backoff);
  yaml::read_duration(section, "max_backoff", base.max_backoff);
  yaml::read_number(section, "multiplier", 1.0, 100.0, base.multiplier);
  yaml::read_number(section, "jitter", 0.0, 1.0, base.jitter);
  yaml::read_integer(section, "max_attempts", 1, 1'000'000, base.max_attempts);
  yaml::read_duration(section, "max_age", base.max_age);
  yaml::require_not_larger(section, "initial_backoff", base.initial_backoff, "max_backoff", base.max_backoff);
  return base;
}

KindConfigs parse_kinds(const yaml::Reader& section, const RetryPolicy& top_level_retry) {
  KindConfigs kinds;
  if (!yaml::is_section(section)) return kinds;
  yaml::reject_duplicate_keys(section);
  for (const auto& name : section.keys()) {
    yaml::Reader kind = section.child(name);
    if (!kind.present()) yaml::missing_section(section, name, "expected a map with a check");
    if (yaml::valid_name(kind, "kind", name)) kinds.emplace(name, parse_kind(kind, name, top_level_retry));
  }
  return kinds;
}

}  // namespace compensatord::reconciler
