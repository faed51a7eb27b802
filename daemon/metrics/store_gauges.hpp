#pragma once
// Refreshes the store gauges (transactions by status, oldest due age, parked) on an interval,
// so a scrape never queries the database and many scrapers cost nothing extra.

#include "metrics/metrics.hpp"

#include <chrono>
#include <functional>
#include <thread>

namespace compensatord::metrics {

class StoreGaugePoller {
 public:
  // Reads `read` at once and then every `interval` until destroyed. A failed read (database
  // down) is logged and leaves the previous values: readiness reports the outage.
  StoreGaugePoller(std::function<StoreSnapshot()> read, Metrics& metrics, std::chrono::milliseconds interval);

 private:
  void run(const std::stop_token& stop);
  void refresh();

  std::function<StoreSnapshot()> read_;
  Metrics& metrics_;
  std::chrono::milliseconds interval_;
  std::jthread thread_;  // last: started after the fields it uses
};

}  // namespace compensatord::metrics
