// The label and outcome mapping of compensatord's metrics, read back from the exposition text.

#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace compensatord::metrics {
namespace {

using namespace std::chrono_literals;
using reconciler::ActionObservation;
using reconciler::ReconcileObservation;
using reconciler::ReconcileResult;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsLabels, ResultsAreTheReconcileResultNames) {
  EXPECT_EQ(result_label(ReconcileResult::Finished), "finished");
  EXPECT_EQ(result_label(ReconcileResult::Requeued), "requeued");
  EXPECT_EQ(result_label(ReconcileResult::Parked), "parked");
  EXPECT_EQ(result_label(ReconcileResult::LeaseLost), "lease_lost");
}

TEST(Metrics, EverySeriesOfABoundedLabelExistsAtZeroBeforeAnyWork) {
  Metrics metrics("1.2.3");
  metrics.declare_participant("stock");
  const std::string text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_build_info{version="1.2.3"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_total{result="error"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_decisions_total{decision="confirm"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_transactions{status="PARKED"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_stage_seconds_count{stage="write_back"} 0)")) << text;
  EXPECT_TRUE(
      has_line(text, R"(compensatord_adapter_requests_total{action="cancel",outcome="fatal",participant="stock"} 0)"))
      << text;
}

TEST(MetricsLabels, IngestSourcesAreTheirFamilyNeverTheTopicNameOrXid) {
  EXPECT_EQ(source_label("kafka:orders"), "kafka");
  EXPECT_EQ(source_label("legacy:shop"), "legacy_log");
  EXPECT_EQ(source_label("pending_log"), "pending_log");
  EXPECT_EQ(source_label(""), "other");
  EXPECT_EQ(source_label("ORD-1\n{evil=\"1\"}"), "other");
  EXPECT_EQ(source_label(std::string(1 << 20, 'k')), "other");
}

TEST(Metrics, RefusedIngestsAreCountedBySourceFromZero) {
  Metrics metrics("1.2.3");
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_ingest_conflicts_total{source="kafka"} 0)"));
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_ingest_conflicts_total{source="legacy_log"} 0)"));
  metrics.ingest_conflict("kafka:orders");
  metrics.ingest_conflict("kafka:orders-eu");
  metrics.ingest_conflict("legacy:shop");
  const std::string text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_ingest_conflicts_total{source="kafka"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_ingest_conflicts_total{source="legacy_log"} 1)")) << text;
  EXPECT_EQ(text.find("orders-eu"), std::string::npos) << text;
}

TEST(Metrics, RetentionCountsDeletedTransactionsByStatusAndRunsByResultFromZero) {
  Metrics metrics("1.2.3");
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_retention_deleted_total{status="abandoned"} 0)"));
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_retention_runs_total{result="skipped_lock"} 0)"));
  metrics.retention_deleted("CONFIRMED", 10);
  metrics.retention_deleted("CONFIRMED", 5);
  metrics.retention_deleted("PARKED", 2);
  metrics.retention_deleted("ORD-1\n{evil=\"1\"}", 1);
  metrics.retention_run(retention::RunOutcome::Ok);
  metrics.retention_run(retention::RunOutcome::Error);
  const std::string text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_retention_deleted_total{status="confirmed"} 15)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_retention_deleted_total{status="cancelled"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_retention_deleted_total{status="parked"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_retention_deleted_total{status="other"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_retention_runs_total{result="ok"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_retention_runs_total{result="error"} 1)")) << text;
  EXPECT_EQ(text.find("ORD-1"), std::string::npos) << text;
}

TEST(Metrics, ALegacyLogSourceCountsItsRowsByResultItsFailedPollsAndItsLastCompletedPoll) {
  Metrics metrics("1.2.3");
  EXPECT_EQ(metrics.text().find("compensatord_legacy_log_rows_total{"), std::string::npos)
      << "no series before a source is declared";
  metrics.declare_legacy_log("orders");
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_legacy_log_rows_total{result="rejected",source="orders"} 0)"));
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_legacy_log_poll_errors_total{source="orders"} 0)"));
  EXPECT_TRUE(has_line(metrics.text(), R"(compensatord_legacy_log_last_success_timestamp_seconds{source="orders"} 0)"));

  const auto before = std::chrono::system_clock::now();
  metrics.polled(
      "orders", sources::PollResult{.rows_seen = 10, .inserted = 4, .already_known = 3, .conflicts = 2, .rejected = 1});
  metrics.polled("orders", sources::PollResult{.rows_seen = 5, .inserted = 1, .already_known = 4});
  metrics.poll_failed("orders");
  const std::string text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_legacy_log_rows_total{result="ingested",source="orders"} 5)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_legacy_log_rows_total{result="duplicate",source="orders"} 7)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_legacy_log_rows_total{result="conflict",source="orders"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_legacy_log_rows_total{result="rejected",source="orders"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_legacy_log_poll_errors_total{source="orders"} 1)")) << text;
  const auto at = text.find("compensatord_legacy_log_last_success_timestamp_seconds{source=\"orders\"} ");
  ASSERT_NE(at, std::string::npos) << text;
  const double seconds = std::stod(text.substr(text.find("} ", at) + 2));
  EXPECT_GE(seconds, std::chrono::duration<double>(before.time_since_epoch()).count() - 1) << text;
}

TEST(Metrics, AReconcileCountsItsResultDecisionRetryAndAdapterCallsWithoutTheXid) {
  Metrics metrics("1.2.3");
  ReconcileObservation observation{ReconcileResult::Requeued, Decision::Cancel, 0.2s, {}, {}};
  observation.actions.push_back(ActionObservation{"stock", Decision::Cancel, Outcome::NotFound, 30ms});
  observation.actions.push_back(ActionObservation{"coupon", Decision::Cancel, Outcome::Retry, 2000ms});
  observation.stages.check = 0.003s;
  observation.stages.decide = 0.02s;
  observation.stages.calls = 2.1s;
  observation.stages.write_back = 0.04s;
  metrics.reconciled(observation);
  metrics.reconciled({ReconcileResult::Finished, std::nullopt, 0.01s, {}, {}});
  metrics.reconcile_failed(0.5s);
  metrics.claimed(3, 1);

  const std::string text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_total{result="requeued"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_total{result="finished"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_total{result="error"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_reconcile_errors_total 1")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_reconcile_time_seconds_count 3")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_stage_seconds_count{stage="check"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_stage_seconds_bucket{stage="calls",le="2.5"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_stage_seconds_bucket{stage="calls",le="1"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_reconcile_stage_seconds_count{stage="write_back"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_retries_total 1")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_decisions_total{decision="cancel"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_decisions_total{decision="confirm"} 0)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_claims_total 3")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_lease_takeovers_total 1")) << text;
  EXPECT_TRUE(has_line(
      text, R"(compensatord_adapter_requests_total{action="cancel",outcome="not_found",participant="stock"} 1)"))
      << text;
  EXPECT_TRUE(
      has_line(text, R"(compensatord_adapter_requests_total{action="cancel",outcome="retry",participant="coupon"} 1)"))
      << text;
  EXPECT_TRUE(has_line(
      text, R"(compensatord_adapter_request_duration_seconds_bucket{action="cancel",participant="coupon",le="1"} 0)"))
      << text;
  EXPECT_TRUE(has_line(
      text, R"(compensatord_adapter_request_duration_seconds_bucket{action="cancel",participant="coupon",le="2.5"} 1)"))
      << text;
}

TEST(Metrics, TheStoreSnapshotSetsTheStatusParkedAndOldestDueGauges) {
  Metrics metrics("1.2.3");
  metrics.set_store_snapshot({{{Status::Pending, 7}, {Status::Parked, 2}}, 1500ms});
  const std::string text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_transactions{status="PENDING"} 7)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_transactions{status="PARKED"} 2)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_parked_transactions 2")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_oldest_due_age_seconds 1.5")) << text;
}

TEST(Metrics, KafkaSeriesExistOnlyOnceDeclaredAndFollowTheSourcesReports) {
  Metrics metrics("1.2.3");
  EXPECT_FALSE(has_line(metrics.text(), "compensatord_kafka_consumer_lag 0"));
  metrics.declare_kafka();
  auto text = metrics.text();
  EXPECT_TRUE(has_line(text, "compensatord_kafka_consumer_lag 0")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_kafka_messages_total{result="duplicate"} 0)")) << text;

  sources::KafkaObserver& observer = metrics;
  observer.kafka_connected(true);
  observer.kafka_messages(sources::MessageOutcome::Ingested, 5);
  observer.kafka_messages(sources::MessageOutcome::Ingested, 2);
  observer.kafka_messages(sources::MessageOutcome::DeadLettered, 1);
  observer.kafka_error();
  observer.kafka_consumer_lag(42);
  observer.kafka_consumer_lag(3);
  text = metrics.text();
  EXPECT_TRUE(has_line(text, "compensatord_kafka_consumer_lag 3")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_kafka_messages_total{result="ingested"} 7)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_kafka_messages_total{result="dead_lettered"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_kafka_messages_total{result="duplicate"} 0)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_kafka_errors_total 1")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_kafka_connected 1")) << text;
  observer.kafka_connected(false);
  EXPECT_TRUE(has_line(metrics.text(), "compensatord_kafka_connected 0"));
}

TEST(Metrics, ConfigReloadsCountByResultAndTheGaugeFollowsTheLastOne) {
  Metrics metrics("1.2.3");
  auto text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_config_reloads_total{result="ok"} 0)")) << text;
  EXPECT_TRUE(has_line(text, R"(compensatord_config_reloads_total{result="error"} 0)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_config_last_reload_success 1")) << "the config the daemon started with";
  EXPECT_EQ(text.find("compensatord_config_last_reload_success_timestamp_seconds 0\n"), std::string::npos) << text;
  metrics.config_reloaded(false);
  text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_config_reloads_total{result="error"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_config_last_reload_success 0")) << text;
  metrics.config_reloaded(true);
  text = metrics.text();
  EXPECT_TRUE(has_line(text, R"(compensatord_config_reloads_total{result="ok"} 1)")) << text;
  EXPECT_TRUE(has_line(text, "compensatord_config_last_reload_success 1")) << text;
}

}  // namespace
}  // namespace compensatord::metrics
