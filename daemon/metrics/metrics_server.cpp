#include "metrics/metrics_server.hpp"

#include <fmt/format.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <stdexcept>

namespace compensatord::metrics {

MetricsServer::MetricsServer(const std::string& listen, const Metrics& metrics) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("cannot listen on metrics.listen {}: {}", listen, e.what()));
  }
  exposer_->RegisterCollectable(metrics.registry(), kPath);
}

MetricsServer::~MetricsServer() = default;

}  // namespace compensatord::metrics
