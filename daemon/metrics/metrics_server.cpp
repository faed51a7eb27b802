#include "metrics/metrics_server.hpp"

#include <CivetServer.h>
#include <fmt/format.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <stdexcept>
#include <string_view>

namespace compensatord::metrics {
namespace {

// Probes and scrapes are few and quick; one thread more keeps a slow readiness check (it waits
// on the database) from holding up a scrape.
constexpr const char* kThreads = "4";
constexpr const char* kRequestTimeoutMs = "10000";

void send(mg_connection* connection, int status, std::string_view content_type, const std::string& body) {
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            status, mg_get_response_code_text(connection, status), static_cast<int>(content_type.size()),
            content_type.data(), body.size());
  mg_write(connection, body.data(), body.size());
}

bool wants_verbose(mg_connection* connection) {
  const char* query = mg_get_request_info(connection)->query_string;
  return query != nullptr && std::string_view(query).find("verbose") != std::string_view::npos;
}

class ScrapeHandler final : public CivetHandler {
 public:
  explicit ScrapeHandler(std::shared_ptr<prometheus::Registry> registry) : registry_(std::move(registry)) {}

  bool handleGet(CivetServer*, mg_connection* connection) override {
    send(connection, 200, "text/plain; version=0.0.4; charset=utf-8",
         prometheus::TextSerializer().Serialize(registry_->Collect()));
    return true;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

class ProbeHandler final : public CivetHandler {
 public:
  ProbeHandler(std::string endpoint, std::vector<health::HealthCheck> checks)
      : endpoint_(std::move(endpoint)), checks_(std::move(checks)) {}

  bool handleGet(CivetServer*, mg_connection* connection) override {
    const auto answer = health::answer_probe(endpoint_, checks_, wants_verbose(connection));
    send(connection, answer.passed ? 200 : 503, "text/plain; charset=utf-8", answer.body);
    return true;
  }

 private:
  std::string endpoint_;
  std::vector<health::HealthCheck> checks_;
};

}  // namespace

class MetricsServer::Impl {
 public:
  Impl(const std::string& listen, const Metrics& metrics, health::HealthChecks checks)
      : scrape_(metrics.registry()),
        liveness_("healthz", std::move(checks.liveness)),
        readiness_("readyz", std::move(checks.readiness)) {
    try {
      server_ = std::make_unique<CivetServer>(std::vector<std::string>{
          "listening_ports", listen, "num_threads", kThreads, "request_timeout_ms", kRequestTimeoutMs});
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("cannot listen on metrics.listen {}: {}", listen, e.what()));
    }
    server_->addHandler(kPath, scrape_);
    server_->addHandler("/healthz", liveness_);
    server_->addHandler("/readyz", readiness_);
  }

 private:
  // The handlers outlive the server, which is stopped (its threads joined) first.
  ScrapeHandler scrape_;
  ProbeHandler liveness_;
  ProbeHandler readiness_;
  std::unique_ptr<CivetServer> server_;
};

MetricsServer::MetricsServer(const std::string& listen, const Metrics& metrics, health::HealthChecks checks)
    : impl_(std::make_unique<Impl>(listen, metrics, std::move(checks))) {}
MetricsServer::~MetricsServer() = default;

}  // namespace compensatord::metrics
