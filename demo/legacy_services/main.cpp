// legacy-services: the sample stock, coupon and order services on one address, for tests and the demo.

#include "legacy_services/server.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <exception>
#include <random>

namespace {

// Knob flags set every service; --knobs JSON then overrides per service.
std::map<std::string, demo::Knobs> knobs_from(const demo::Knobs& every, const std::string& per_service_json) {
  std::map<std::string, demo::Knobs> knobs;
  for (const char* service : demo::kServiceNames) knobs[service] = every;
  if (per_service_json.empty()) return knobs;
  const auto update = nlohmann::json::parse(per_service_json, nullptr, false);
  if (update.is_discarded() || !update.is_object()) throw std::invalid_argument("--knobs: must be a JSON object");
  for (const auto& [service, values] : update.items()) {
    auto it = knobs.find(service);
    if (it == knobs.end()) throw std::invalid_argument("--knobs: unknown service " + service);
    if (auto problem = demo::apply_update(it->second, values, "--knobs." + service)) {
      throw std::invalid_argument(*problem);
    }
  }
  return knobs;
}

// Waits for SIGINT or SIGTERM; the signals are blocked in every thread so only this wait sees them.
int wait_for_stop_signal(const sigset_t& signals) {
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sample legacy stock, coupon and order services with fault knobs"};
  demo::ServicesOptions options;
  options.seed = std::random_device{}();
  demo::Knobs every;
  std::string per_service_knobs;
  std::string log_level = "info";
  app.add_option("--listen", options.listen, "HOST:PORT to listen on")->capture_default_str();
  app.add_option("--skus", options.skus, "number of SKUs (SKU-1 ..)")->capture_default_str();
  app.add_option("--stock-per-sku", options.stock_per_sku, "initial stock of each SKU")->capture_default_str();
  app.add_option("--coupons", options.coupons, "coupon pool size (CPN-1 ..)")->capture_default_str();
  app.add_option("--order-dsn", options.order_dsn, "PostgreSQL DSN of the order database (enables the order API)");
  app.add_option("--order-db-connections", options.order_db_connections,
                 "connections to the order database, each with a thread of its own")
      ->capture_default_str();
  app.add_option("--order-queue", options.order_queue,
                 "order calls that may wait for a database thread; beyond that they are answered 503")
      ->capture_default_str();
  app.add_option("--fail-rate", every.fail_rate, "share of calls answered 500 without applying")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--lost-reply-rate", every.lost_reply_rate, "share applied, then answered 500")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--odd-rate", every.odd_rate, "share answered oddly (HTML, code 9999, truncated JSON, 503)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--latency-ms", every.latency_ms, "fixed delay per call")->check(CLI::Range(0, 60000));
  app.add_option("--latency-jitter-ms", every.latency_jitter_ms, "random extra delay per call")
      ->check(CLI::Range(0, 60000));
  app.add_option("--knobs", per_service_knobs, R"(per-service overrides, e.g. {"order":{"fail_rate":0}})");
  app.add_option("--seed", options.seed, "seed of the fault dice");
  app.add_option("--log-level", log_level)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    spdlog::set_level(spdlog::level::from_str(log_level));
    options.knobs = knobs_from(every, per_service_knobs);
    demo::LegacyServices services(std::move(options));
    services.start();
    const int signal = wait_for_stop_signal(signals);
    spdlog::info("signal {}: stopping", signal);
    services.stop();
  } catch (const std::exception& e) {
    spdlog::error("legacy-services: {}", e.what());
    return 2;
  }
  return 0;
}
