#pragma once
// The metrics port (metrics.listen): /metrics for Prometheus and the probes /healthz and /readyz,
// unauthenticated, so that the API port can stay closed. CivetWeb stays in the .cpp; it answers
// on threads of its own, never on the pool that outgoing participant calls use.

#include "health/health.hpp"
#include "metrics/metrics.hpp"

#include <memory>
#include <string>

namespace compensatord::metrics {

class MetricsServer {
 public:
  static constexpr const char* kPath = "/metrics";

  // Starts listening on `listen` ("host:port"); throws std::runtime_error naming the address when
  // it cannot. /healthz and /readyz answer 200 when every check passes, else 503; ?verbose lists
  // the checks (health::answer_probe).
  MetricsServer(const std::string& listen, const Metrics& metrics, health::HealthChecks checks);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compensatord::metrics
