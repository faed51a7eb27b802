#include "metrics/metrics_config.hpp"

#include "yaml/fields.hpp"

#include <fmt/format.h>

namespace compensatord::metrics {

MetricsConfig parse_metrics(const yaml::Reader& section) {
  MetricsConfig metrics;
  if (!yaml::is_section(section)) return metrics;
  section.reject_unknown_keys({"listen", "refresh_interval"});
  if (auto listen = section.string("listen")) {
    if (!yaml::valid_listen(*listen)) {
      section.child("listen").error(fmt::format("expected host:port like 0.0.0.0:9464, got '{}'", *listen));
    }
    metrics.listen = *listen;
  }
  yaml::read_duration(section, "refresh_interval", metrics.refresh_interval);
  return metrics;
}

}  // namespace compensatord::metrics
