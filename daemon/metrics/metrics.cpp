#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <optional>

namespace compensatord::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::array kResults{reconciler::ReconcileResult::Finished, reconciler::ReconcileResult::Requeued,
                              reconciler::ReconcileResult::Parked, reconciler::ReconcileResult::LeaseLost};
constexpr std::string_view kErrorResult = "error";
constexpr std::array kDecisions{Decision::Confirm, Decision::Cancel};
constexpr std::array kOutcomes{Outcome::Done, Outcome::AlreadyDone, Outcome::NotFound, Outcome::Retry, Outcome::Fatal};

// The `source` labels of compensatord_ingest_conflicts_total that the daemon's own sources produce,
// created at zero. (A conflicting begin_transaction raises in the order service's session instead.)
constexpr std::array<std::string_view, 2> kIngestSources{"kafka", "legacy_log"};
// The `result` label of compensatord_legacy_log_rows_total, in the order of PollResult's counts.
constexpr std::array<const char*, 4> kLegacyLogResults{"ingested", "duplicate", "conflict", "rejected"};
// The `result` label of compensatord_kafka_messages_total.
constexpr std::array kMessageOutcomes{sources::MessageOutcome::Ingested, sources::MessageOutcome::Duplicate,
                                      sources::MessageOutcome::DeadLettered};
const char* kafka_result_label(sources::MessageOutcome outcome) {
  switch (outcome) {
    case sources::MessageOutcome::Ingested:
      return "ingested";
    case sources::MessageOutcome::Duplicate:
      return "duplicate";
    case sources::MessageOutcome::DeadLettered:
      return "dead_lettered";
  }
  return "unknown";
}

// The `status` labels of compensatord_retention_deleted_total, created at zero: the finished and
// the parked statuses the retention job deletes.
constexpr std::array<std::string_view, 4> kRetentionStatuses{"confirmed", "cancelled", "parked", "abandoned"};
constexpr std::array kRetentionOutcomes{retention::RunOutcome::Ok, retention::RunOutcome::SkippedLock,
                                        retention::RunOutcome::Error};

// The `stage` label of compensatord_reconcile_stage_seconds, in the order of StageTimes.
constexpr std::array<const char*, 5> kStages{"check", "decide", "start_calls", "calls", "write_back"};

// A reconcile is a check plus a few HTTP calls: milliseconds when healthy, up to the adapter
// timeouts when a participant is slow.
Histogram::BucketBoundaries reconcile_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
Histogram::BucketBoundaries adapter_buckets() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}; }

std::string label(std::string_view value) { return std::string(value); }

}  // namespace

std::string_view result_label(reconciler::ReconcileResult result) { return reconciler::to_string(result); }

std::string_view source_label(std::string_view source) {
  if (source.starts_with("kafka:")) return "kafka";
  if (source.starts_with("legacy:")) return "legacy_log";
  if (source == "pending_log") return "pending_log";
  return "other";
}

std::string_view retention_status_label(std::string_view status) {
  if (status == "CONFIRMED") return kRetentionStatuses[0];
  if (status == "CANCELLED") return kRetentionStatuses[1];
  if (status == "PARKED") return kRetentionStatuses[2];
  if (status == "ABANDONED") return kRetentionStatuses[3];
  return "other";
}

struct Metrics::Families {
  explicit Families(prometheus::Registry& r)
      : reconcile_total(BuildCounter()
                            .Name("compensatord_reconcile_total")
                            .Help("Reconciles of claimed transactions, by result")
                            .Register(r)),
        reconcile_errors_total(BuildCounter()
                                   .Name("compensatord_reconcile_errors_total")
                                   .Help("Reconciles that failed with a state database error")
                                   .Register(r)
                                   .Add({})),
        reconcile_time_seconds(BuildHistogram()
                                   .Name("compensatord_reconcile_time_seconds")
                                   .Help("Duration of one reconcile: check, decision, actions, write-back")
                                   .Register(r)
                                   .Add({}, reconcile_buckets())),
        reconcile_stage_seconds(BuildHistogram()
                                    .Name("compensatord_reconcile_stage_seconds")
                                    .Help("Duration of each stage of a reconcile: check, decide, calls (all "
                                          "branches, slot waits included), write_back (batch wait included)")
                                    .Register(r)),
        transactions(BuildGauge()
                         .Name("compensatord_transactions")
                         .Help("Transactions in the state database, by status (refreshed on an interval)")
                         .Register(r)),
        oldest_due_age_seconds(BuildGauge()
                                   .Name("compensatord_oldest_due_age_seconds")
                                   .Help("How long the oldest due, unclaimed transaction has waited; 0 when none")
                                   .Register(r)
                                   .Add({})),
        parked_transactions(BuildGauge()
                                .Name("compensatord_parked_transactions")
                                .Help("Transactions parked for a human")
                                .Register(r)
                                .Add({})),
        decisions_total(BuildCounter()
                            .Name("compensatord_decisions_total")
                            .Help("Decisions taken by this replica, by decision")
                            .Register(r)),
        adapter_requests_total(BuildCounter()
                                   .Name("compensatord_adapter_requests_total")
                                   .Help("Adapter calls to participants, by participant, action and outcome")
                                   .Register(r)),
        adapter_request_duration_seconds(BuildHistogram()
                                             .Name("compensatord_adapter_request_duration_seconds")
                                             .Help("Duration of adapter calls to participants")
                                             .Register(r)),
        retries_total(BuildCounter()
                          .Name("compensatord_retries_total")
                          .Help("Reconciles that ended in a requeue with backoff")
                          .Register(r)
                          .Add({})),
        claims_total(BuildCounter()
                         .Name("compensatord_claims_total")
                         .Help("Transactions claimed under a lease")
                         .Register(r)
                         .Add({})),
        lease_takeovers_total(BuildCounter()
                                  .Name("compensatord_lease_takeovers_total")
                                  .Help("Claims that took a transaction over from another replica's expired lease")
                                  .Register(r)
                                  .Add({})),
        build_info(
            BuildGauge().Name("compensatord_build_info").Help("Always 1; labelled with the version").Register(r)),
        ingest_conflicts_total(BuildCounter()
                                   .Name("compensatord_ingest_conflicts_total")
                                   .Help("Ingests refused because their xid is recorded with other branches, by "
                                         "source (kafka, legacy_log)")
                                   .Register(r)),
        kafka_messages_total(BuildCounter()
                                 .Name("compensatord_kafka_messages_total")
                                 .Help("Delayed check messages consumed, by result (ingested, duplicate, "
                                       "dead_lettered)")
                                 .Register(r)),
        kafka_errors_total(BuildCounter()
                               .Name("compensatord_kafka_errors_total")
                               .Help("Kafka source errors (store, dead-letter, commit, consumer); each is retried")
                               .Register(r)),
        kafka_connected(BuildGauge()
                            .Name("compensatord_kafka_connected")
                            .Help("1 while the Kafka source reaches a broker, else 0")
                            .Register(r)),
        kafka_consumer_lag(BuildGauge()
                               .Name("compensatord_kafka_consumer_lag")
                               .Help("Messages in the assigned partitions after the committed offsets "
                                     "(librdkafka statistics)")
                               .Register(r)),
        config_reloads_total(BuildCounter()
                                 .Name("compensatord_config_reloads_total")
                                 .Help("Config reloads (SIGHUP), by result: ok (applied) or error (refused, the "
                                       "running config kept)")
                                 .Register(r)),
        config_last_reload_success(BuildGauge()
                                       .Name("compensatord_config_last_reload_success")
                                       .Help("1 when the last config load (start or reload) was applied, 0 when "
                                             "it was refused")
                                       .Register(r)
                                       .Add({})),
        config_last_reload_success_timestamp_seconds(
            BuildGauge()
                .Name("compensatord_config_last_reload_success_timestamp_seconds")
                .Help("When the config in force was loaded (start or the last applied reload), in Unix time")
                .Register(r)
                .Add({})),
        retention_deleted_total(BuildCounter()
                                    .Name("compensatord_retention_deleted_total")
                                    .Help("Transactions deleted by the retention job (with their branches, "
                                          "attempts and admin actions), by the status they had")
                                    .Register(r)),
        retention_runs_total(BuildCounter()
                                 .Name("compensatord_retention_runs_total")
                                 .Help("Runs of the retention job, by result (ok, skipped_lock: another replica "
                                       "was purging, error)")
                                 .Register(r)),
        legacy_log_rows_total(BuildCounter()
                                  .Name("compensatord_legacy_log_rows_total")
                                  .Help("Rows read by each legacy log source, by result (ingested, duplicate: "
                                        "already known, conflict: xid recorded with other branches, rejected: "
                                        "a bad row, skipped)")
                                  .Register(r)),
        legacy_log_poll_errors_total(BuildCounter()
                                         .Name("compensatord_legacy_log_poll_errors_total")
                                         .Help("Legacy log polls that failed (its database, the state database); "
                                               "each is repeated next interval")
                                         .Register(r)),
        legacy_log_last_success_timestamp_seconds(
            BuildGauge()
                .Name("compensatord_legacy_log_last_success_timestamp_seconds")
                .Help("When each legacy log source last completed a poll, in Unix time (0: not yet)")
                .Register(r)) {}

  Family<Counter>& reconcile_total;
  Counter& reconcile_errors_total;
  Histogram& reconcile_time_seconds;
  Family<Histogram>& reconcile_stage_seconds;
  Family<Gauge>& transactions;
  Gauge& oldest_due_age_seconds;
  Gauge& parked_transactions;
  Family<Counter>& decisions_total;
  Family<Counter>& adapter_requests_total;
  Family<Histogram>& adapter_request_duration_seconds;
  Counter& retries_total;
  Counter& claims_total;
  Counter& lease_takeovers_total;
  Family<Gauge>& build_info;
  Family<Counter>& ingest_conflicts_total;
  Family<Counter>& kafka_messages_total;
  Family<Counter>& kafka_errors_total;
  Family<Gauge>& kafka_connected;
  Family<Gauge>& kafka_consumer_lag;
  Family<Counter>& config_reloads_total;
  Gauge& config_last_reload_success;
  Gauge& config_last_reload_success_timestamp_seconds;
  Family<Counter>& retention_deleted_total;
  Family<Counter>& retention_runs_total;
  Family<Counter>& legacy_log_rows_total;
  Family<Counter>& legacy_log_poll_errors_total;
  Family<Gauge>& legacy_log_last_success_timestamp_seconds;
};

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()), families_(std::make_unique<Families>(*registry_)) {
  families_->build_info.Add({{"version", version}}).Set(1);
  for (auto result : kResults) families_->reconcile_total.Add({{"result", label(result_label(result))}});
  families_->reconcile_total.Add({{"result", label(kErrorResult)}});
  for (auto decision : kDecisions) families_->decisions_total.Add({{"decision", label(to_string(decision))}});
  for (auto status : kAllStatuses) families_->transactions.Add({{"status", label(to_string(status))}});
  for (const char* stage : kStages) families_->reconcile_stage_seconds.Add({{"stage", stage}}, reconcile_buckets());
  for (auto source : kIngestSources) families_->ingest_conflicts_total.Add({{"source", label(source)}});
  for (const char* result : {"ok", "error"}) families_->config_reloads_total.Add({{"result", result}});
  families_->config_last_reload_success.Set(1);
  families_->config_last_reload_success_timestamp_seconds.SetToCurrentTime();
  for (auto status : kRetentionStatuses) families_->retention_deleted_total.Add({{"status", label(status)}});
  for (auto outcome : kRetentionOutcomes) {
    families_->retention_runs_total.Add({{"result", label(retention::to_string(outcome))}});
  }
}

Metrics::~Metrics() = default;

void Metrics::declare_participant(const std::string& participant) {
  for (auto decision : kDecisions) {
    const auto action = label(action_name(decision));
    families_->adapter_request_duration_seconds.Add({{"participant", participant}, {"action", action}},
                                                    adapter_buckets());
    for (auto outcome : kOutcomes) {
      families_->adapter_requests_total.Add(
          {{"participant", participant}, {"action", action}, {"outcome", label(to_string(outcome))}});
    }
  }
}

void Metrics::set_store_snapshot(const StoreSnapshot& snapshot) {
  for (const auto& count : snapshot.by_status) {
    families_->transactions.Add({{"status", label(to_string(count.status))}}).Set(static_cast<double>(count.count));
    if (count.status == Status::Parked) families_->parked_transactions.Set(static_cast<double>(count.count));
  }
  families_->oldest_due_age_seconds.Set(std::chrono::duration<double>(snapshot.oldest_due_age).count());
}

void Metrics::declare_kafka() {
  for (auto outcome : kMessageOutcomes) families_->kafka_messages_total.Add({{"result", kafka_result_label(outcome)}});
  families_->kafka_errors_total.Add({});
  families_->kafka_connected.Add({});
  families_->kafka_consumer_lag.Add({});
}

void Metrics::kafka_messages(sources::MessageOutcome outcome, long long count) {
  families_->kafka_messages_total.Add({{"result", kafka_result_label(outcome)}}).Increment(static_cast<double>(count));
}

void Metrics::kafka_error() { families_->kafka_errors_total.Add({}).Increment(); }

void Metrics::kafka_connected(bool connected) { families_->kafka_connected.Add({}).Set(connected ? 1 : 0); }

void Metrics::kafka_consumer_lag(std::int64_t messages) {
  families_->kafka_consumer_lag.Add({}).Set(static_cast<double>(messages));
}

void Metrics::declare_legacy_log(const std::string& source) {
  for (const char* result : kLegacyLogResults)
    families_->legacy_log_rows_total.Add({{"source", source}, {"result", result}});
  families_->legacy_log_poll_errors_total.Add({{"source", source}});
  families_->legacy_log_last_success_timestamp_seconds.Add({{"source", source}});
}

void Metrics::polled(std::string_view source, const sources::PollResult& result) {
  const std::string name(source);
  const std::array<long long, kLegacyLogResults.size()> counts{result.inserted, result.already_known, result.conflicts,
                                                               result.rejected};
  for (std::size_t i = 0; i < counts.size(); ++i) {
    families_->legacy_log_rows_total.Add({{"source", name}, {"result", kLegacyLogResults[i]}})
        .Increment(static_cast<double>(counts[i]));
  }
  families_->legacy_log_last_success_timestamp_seconds.Add({{"source", name}}).SetToCurrentTime();
}

void Metrics::poll_failed(std::string_view source) {
  families_->legacy_log_poll_errors_total.Add({{"source", std::string(source)}}).Increment();
}

void Metrics::ingest_conflict(std::string_view source) {
  families_->ingest_conflicts_total.Add({{"source", label(source_label(source))}}).Increment();
}

void Metrics::config_reloaded(bool applied) {
  families_->config_reloads_total.Add({{"result", applied ? "ok" : "error"}}).Increment();
  families_->config_last_reload_success.Set(applied ? 1 : 0);
  if (applied) families_->config_last_reload_success_timestamp_seconds.SetToCurrentTime();
}

void Metrics::claimed(int count, int lease_takeovers) {
  families_->claims_total.Increment(count);
  families_->lease_takeovers_total.Increment(lease_takeovers);
}

void Metrics::reconciled(const reconciler::ReconcileObservation& observation) {
  families_->reconcile_total.Add({{"result", label(result_label(observation.result))}}).Increment();
  families_->reconcile_time_seconds.Observe(observation.elapsed.count());
  if (observation.result == reconciler::ReconcileResult::Requeued) families_->retries_total.Increment();
  const auto& stages = observation.stages;
  const std::array<std::optional<std::chrono::duration<double>>, kStages.size()> times{
      stages.check, stages.decide, stages.start_calls, stages.calls, stages.write_back};
  for (std::size_t i = 0; i < kStages.size(); ++i) {
    if (times[i])
      families_->reconcile_stage_seconds.Add({{"stage", kStages[i]}}, reconcile_buckets()).Observe(times[i]->count());
  }
  if (observation.decided_now) {
    families_->decisions_total.Add({{"decision", label(to_string(*observation.decided_now))}}).Increment();
  }
  for (const auto& action : observation.actions) {
    const auto verb = label(action_name(action.action));
    families_->adapter_requests_total
        .Add({{"participant", action.participant}, {"action", verb}, {"outcome", label(to_string(action.outcome))}})
        .Increment();
    families_->adapter_request_duration_seconds
        .Add({{"participant", action.participant}, {"action", verb}}, adapter_buckets())
        .Observe(std::chrono::duration<double>(action.latency).count());
  }
}

void Metrics::reconcile_failed(std::chrono::duration<double> elapsed) {
  families_->reconcile_total.Add({{"result", label(kErrorResult)}}).Increment();
  families_->reconcile_errors_total.Increment();
  families_->reconcile_time_seconds.Observe(elapsed.count());
}

void Metrics::retention_deleted(std::string_view status, long long count) {
  families_->retention_deleted_total.Add({{"status", label(retention_status_label(status))}})
      .Increment(static_cast<double>(count));
}

void Metrics::retention_run(retention::RunOutcome outcome) {
  families_->retention_runs_total.Add({{"result", label(retention::to_string(outcome))}}).Increment();
}

std::string Metrics::text() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return registry_; }

}  // namespace compensatord::metrics
