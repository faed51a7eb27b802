#pragma once
// compensatord's Prometheus metrics. prometheus-cpp stays behind this header. Metrics implements
// the observers the modules report through (reconciler::LoopObserver for the reconcile loop,
// retention::RetentionObserver for the retention job, sources::SourceObserver for the legacy log
// sources, sources::KafkaObserver for the Kafka source); the store gauges are read on an
// interval and set through set_store_snapshot().
// Label values are bounded (results, decisions, outcomes, configured participants): never an xid.

#include "reconciler/reconcile_loop.hpp"
#include "retention/retention_job.hpp"
#include "sources/source_observer.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Registry;
}

namespace compensatord::metrics {

// What the database says, read on an interval (StoreGaugePoller), not per scrape.
struct StoreSnapshot {
  std::vector<store::StatusCount> by_status;
  std::chrono::milliseconds oldest_due_age{0};
};

// The value of the `result` label of compensatord_reconcile_total for a reconcile.
std::string_view result_label(reconciler::ReconcileResult result);
// The `source` label of compensatord_ingest_conflicts_total for a transaction's source: kafka
// ("kafka:<topic>"), legacy_log ("legacy:<name>"), pending_log, or other.
std::string_view source_label(std::string_view source);
// The `status` label of compensatord_retention_deleted_total for a deleted row's status:
// confirmed, cancelled, parked, abandoned, or other.
std::string_view retention_status_label(std::string_view status);

class Metrics final : public reconciler::LoopObserver,
                      public retention::RetentionObserver,
                      public sources::SourceObserver,
                      public sources::KafkaObserver {
 public:
  explicit Metrics(const std::string& version);
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Creates a participant's adapter series at zero, so dashboards and rate() see them before the first call.
  void declare_participant(const std::string& participant);
  void set_store_snapshot(const StoreSnapshot& snapshot);
  // Kafka series exist only where Kafka is configured: declare_kafka() creates them at 0.
  void declare_kafka();

  // Creates a legacy log source's series (sources.legacy_logs[].name) at zero.
  void declare_legacy_log(const std::string& source);

  // An ingest refused because its xid is recorded with other branches (PgStoreOptions::on_ingest_conflict).
  void ingest_conflict(std::string_view source);

  // A config reload (SIGHUP): applied, or refused and the running config kept. The config the
  // daemon started with counts as the first successful load.
  void config_reloaded(bool applied);

  void claimed(int count, int lease_takeovers) override;
  void reconciled(const reconciler::ReconcileObservation& observation) override;
  void reconcile_failed(std::chrono::duration<double> elapsed) override;

  void retention_deleted(std::string_view status, long long count) override;
  void retention_run(retention::RunOutcome outcome) override;

  void polled(std::string_view source, const sources::PollResult& result) override;
  void poll_failed(std::string_view source) override;

  void kafka_messages(sources::MessageOutcome outcome, long long count) override;
  void kafka_error() override;
  void kafka_connected(bool connected) override;
  void kafka_consumer_lag(std::int64_t messages) override;

  // The Prometheus text exposition of every metric (what /metrics serves).
  [[nodiscard]] std::string text() const;
  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
};

}  // namespace compensatord::metrics
