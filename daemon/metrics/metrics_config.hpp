#pragma once
// `metrics`: the port of /metrics and the probes, and how often the store gauges are read.

#include "yaml/reader.hpp"

#include <chrono>
#include <string>

namespace compensatord::metrics {

struct MetricsConfig {
  std::string listen = "0.0.0.0:9464";                                  // /metrics, /healthz and /readyz
  std::chrono::milliseconds refresh_interval{std::chrono::seconds(5)};  // how often the store gauges are read
};

// Reads the `metrics` section (absent: the defaults), reporting each bad key to its errors.
MetricsConfig parse_metrics(const yaml::Reader& section);

}  // namespace compensatord::metrics
