#pragma once
// Totals of what a Kafka source reported, for the programs that run one without the daemon's
// metrics: the ingest benchmark and the tests' source runner.

#include "sources/source_observer.hpp"

#include <atomic>
#include <cstdint>

namespace compensatord::kafka {

struct KafkaTotals {
  long long ingested = 0;
  long long duplicates = 0;
  long long dead_lettered = 0;
  long long errors = 0;
  std::int64_t consumer_lag = 0;  // the last report; 0 before the first
  bool connected = false;
};

// Safe to read from any thread while the source reports.
class KafkaCounts final : public sources::KafkaObserver {
 public:
  void kafka_messages(sources::MessageOutcome outcome, long long count) override {
    switch (outcome) {
      case sources::MessageOutcome::Ingested:
        ingested_ += count;
        break;
      case sources::MessageOutcome::Duplicate:
        duplicates_ += count;
        break;
      case sources::MessageOutcome::DeadLettered:
        dead_lettered_ += count;
        break;
    }
  }
  void kafka_error() override { ++errors_; }
  void kafka_connected(bool connected) override { connected_ = connected; }
  void kafka_consumer_lag(std::int64_t messages) override { consumer_lag_ = messages; }

  [[nodiscard]] KafkaTotals totals() const {
    return {ingested_.load(), duplicates_.load(),   dead_lettered_.load(),
            errors_.load(),   consumer_lag_.load(), connected_.load()};
  }

 private:
  std::atomic<long long> ingested_{0};
  std::atomic<long long> duplicates_{0};
  std::atomic<long long> dead_lettered_{0};
  std::atomic<long long> errors_{0};
  std::atomic<std::int64_t> consumer_lag_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace compensatord::kafka
