// What a config reload may apply live and what it names as needing a restart.

#include "config/changes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace compensatord::config {
namespace {

using Keys = std::vector<std::string>;

// A valid config; `extra` is appended as more top-level sections.
std::string config_text(const std::string& stock_path = "/rollback/{{xid}}", const std::string& extra = "") {
  return "database:\n  dsn: postgresql://localhost/state\n"
         "kinds:\n"
         "  order:\n"
         "    check:\n"
         "      sql:\n"
         "        dsn: postgresql://localhost/orders\n"
         "        query: SELECT 1 FROM orders WHERE order_no = $1\n"
         "participants:\n"
         "  stock:\n"
         "    base_url: http://stock.local:8080\n"
         "    actions:\n"
         "      cancel:\n"
         "        method: POST\n"
         "        path: " +
         stock_path +
         "\n"
         "        outcomes:\n"
         "          - {status: [200], then: done}\n" +
         extra;
}

LoadResult load(const std::string& text) {
  LoadResult result = load_config_text(text);
  EXPECT_TRUE(result.config) << result.errors.to_string();
  return result;
}

TEST(ConfigChanges, TheSameConfigChangesNothing) {
  const auto a = load(config_text());
  const auto b = load(config_text());
  EXPECT_EQ(restart_only_changes(*a.config, *b.config), Keys{});
  EXPECT_EQ(live_changes(a, b), Keys{});
  EXPECT_FALSE(reload_refusal(*a.config, *b.config));
}

TEST(ConfigChanges, AnAdapterPathLogLevelAndNewParticipantChangeLive) {
  const auto a = load(config_text());
  const auto b =
      load(config_text("/v2/rollback/{{xid}}",
                       "  coupon:\n"
                       "    base_url: http://coupon.local:8080\n"
                       "    actions:\n"
                       "      cancel: {method: POST, path: /unlock, outcomes: [{status: [200], then: done}]}\n"
                       "logging:\n  level: debug\n"));
  EXPECT_EQ(live_changes(a, b), (Keys{"participants.coupon added", "participants.stock", "logging.level"}));
  EXPECT_EQ(restart_only_changes(*a.config, *b.config), Keys{}) << "none of these needs a restart";
  EXPECT_EQ(live_changes(b, a), (Keys{"participants.coupon removed", "participants.stock", "logging.level"}));
}

TEST(ConfigChanges, TheTopLevelRetryPolicyCountsThoughNoKindsYamlChanged) {
  const auto a = load(config_text());
  const auto b = load(config_text("/rollback/{{xid}}", "retry:\n  max_attempts: 3\n"));
  EXPECT_EQ(live_changes(a, b), Keys{"retry"});
}

TEST(ConfigChanges, ListenAddressesDatabaseSizesAndSourcesNeedARestart) {
  const auto a = load(config_text());
  const auto b = load(config_text("/rollback/{{xid}}",
                                  "replica_id: other\n"
                                  "http:\n  listen: 127.0.0.1:18080\n"
                                  "  tokens: [{name: ops, scope: admin, token: ops-token-0123456789}]\n"
                                  "metrics:\n  listen: 127.0.0.1:19464\n"
                                  "reconciler:\n  workers: 4\n  batch_size: 7\n"
                                  "verify_tls: false\n"
                                  "retention: {finished_after: 7d, batch_size: 50}\n"
                                  "sources:\n"
                                  "  kafka: {brokers: 'k:9092', topics: [checks], dead_letter_topic: dlq}\n"
                                  "  legacy_logs:\n"
                                  "    - name: old\n"
                                  "      dsn: postgresql://localhost/legacy\n"
                                  "      query: SELECT xid FROM log\n"
                                  "      kind: order\n"
                                  "      branches: [{participant: stock, fields: {sku: sku}}]\n"));
  EXPECT_EQ(restart_only_changes(*a.config, *b.config),
            (Keys{"replica_id", "verify_tls", "reconciler.batch_size", "reconciler.workers", "http.listen",
                  "http.tokens", "metrics.listen", "retention.finished_after", "retention.batch_size", "sources.kafka",
                  "sources.legacy_logs.old"}));
  std::string moved = config_text();
  moved.replace(moved.find("localhost/state"), 15, "elsewhere/state");
  const auto c = load(moved);
  EXPECT_EQ(restart_only_changes(*a.config, *c.config), Keys{"database.dsn"});
}

TEST(ConfigChanges, AKindTimeoutNeedsARestartOnlyWhereALegacyLogUsesTheKind) {
  const std::string legacy =
      "sources:\n"
      "  legacy_logs:\n"
      "    - name: old\n"
      "      dsn: postgresql://localhost/legacy\n"
      "      query: SELECT xid FROM log\n"
      "      kind: order\n"
      "      branches: [{participant: stock, fields: {sku: sku}}]\n";
  auto with_timeout = [](std::string text) { return text.replace(text.find("    check:"), 0, "    timeout: 10m\n"); };
  const auto a = load(config_text());
  const auto b = load(with_timeout(config_text()));
  EXPECT_EQ(restart_only_changes(*a.config, *b.config), Keys{});
  EXPECT_EQ(live_changes(a, b), Keys{"kinds.order"});
  const auto c = load(config_text("/rollback/{{xid}}", legacy));
  const auto d = load(with_timeout(config_text("/rollback/{{xid}}", legacy)));
  EXPECT_EQ(restart_only_changes(*c.config, *d.config), Keys{"kinds.order.timeout"});
}

// The running lease stays: a reload whose timeouts it could not cover would leave every call
// deferred, so it is refused.
TEST(ConfigChanges, AReloadNeedingALongerLeaseThanTheRunningOneIsRefused) {
  const auto a = load(config_text());  // lease 60s
  auto slow = config_text("/rollback/{{xid}}", "reconciler:\n  lease: 10m\n");
  slow.replace(slow.find("    actions:"), 0, "    timeout: 1m\n");
  const auto b = load(slow);
  const auto refusal = reload_refusal(*a.config, *b.config);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->path, "reconciler.lease");
  EXPECT_NE(refusal->message.find("after a restart"), std::string::npos) << refusal->message;
  EXPECT_FALSE(reload_refusal(*b.config, *a.config)) << "shorter timeouts fit the running lease";
}

}  // namespace
}  // namespace compensatord::config
