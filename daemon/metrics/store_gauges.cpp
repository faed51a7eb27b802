#include "metrics/store_gauges.hpp"

#include "common/sleep.hpp"
#include "log/log.hpp"

namespace compensatord::metrics {

namespace {
constexpr log::Log kLog{"metrics"};
}  // namespace

StoreGaugePoller::StoreGaugePoller(std::function<StoreSnapshot()> read, Metrics& metrics,
                                   std::chrono::milliseconds interval)
    : read_(std::move(read)),
      metrics_(metrics),
      interval_(interval),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

void StoreGaugePoller::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    refresh();
    sleep_for(stop, interval_);
  }
}

void StoreGaugePoller::refresh() {
  try {
    metrics_.set_store_snapshot(read_());
  } catch (const std::exception& e) {
    kLog.warn("reading the store gauges failed: {}", e.what());
  }
}

}  // namespace compensatord::metrics
