#pragma once
// Serves Metrics on metrics.listen at /metrics (prometheus-cpp's embedded HTTP server).

#include "metrics/metrics.hpp"

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
}

namespace compensatord::metrics {

class MetricsServer {
 public:
  static constexpr const char* kPath = "/metrics";

  // Starts listening on `listen` ("host:port"); throws std::runtime_error naming the address when it cannot.
  MetricsServer(const std::string& listen, const Metrics& metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace compensatord::metrics
