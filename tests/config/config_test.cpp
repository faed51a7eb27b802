// The daemon config: the example loads, and every bad value names its key path and line.

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::config {
namespace {

using namespace std::chrono_literals;

// The smallest valid config, one section per entry; a test replaces whole sections.
const std::vector<std::pair<std::string, std::string>>& base_sections() {
  static const std::vector<std::pair<std::string, std::string>> kSections{
      {"database", "database:\n  dsn: postgresql://localhost/state\n"},
      {"kinds",
       "kinds:\n"
       "  order:\n"
       "    check:\n"
       "      sql:\n"
       "        dsn: postgresql://localhost/orders\n"
       "        query: SELECT 1 FROM orders WHERE order_no = $1\n"},
      {"participants",
       "participants:\n"
       "  stock:\n"
       "    base_url: http://stock.local:8080\n"
       "    actions:\n"
       "      cancel:\n"
       "        method: POST\n"
       "        path: /rollback/{{xid}}\n"
       "        outcomes:\n"
       "          - {status: [200], then: done}\n"},
  };
  return kSections;
}

std::string top_level_key(const std::string& line) {
  if (line.empty() || line[0] == ' ' || line[0] == '#' || line[0] == '-') return "";
  return line.substr(0, line.find(':'));
}

// `overrides` comes first, so the lines a test expects are the lines of its own text; the base
// sections it does not mention follow.
std::string config_with(const std::string& overrides) {
  std::vector<std::string> replaced;
  std::istringstream lines(overrides);
  for (std::string line; std::getline(lines, line);) replaced.push_back(top_level_key(line));
  std::string text = overrides;
  for (const auto& [name, section] : base_sections()) {
    if (std::find(replaced.begin(), replaced.end(), name) == replaced.end()) text += section;
  }
  return text;
}

const yaml::ConfigError* find_error(const LoadResult& result, std::string_view path) {
  for (const auto& e : result.errors.all()) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

std::string host_name() {
  std::array<char, 256> host{};
  ::gethostname(host.data(), host.size() - 1);
  return host.data();
}

class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

TEST(ConfigTest, MinimalConfigLoadsWithDefaults) {
  auto result = load_config_text(config_with(""));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  const DaemonConfig& config = *result.config;
  EXPECT_EQ(config.database.dsn, "postgresql://localhost/state");
  EXPECT_EQ(config.reconciler.batch_size, 100);
  EXPECT_EQ(config.retry.max_attempts, 50);
  EXPECT_EQ(config.logging.level, "info");
  EXPECT_EQ(config.http_client, HttpClient::Curl);
  EXPECT_EQ(config.replica_id, host_name() + "-" + std::to_string(::getpid()));
  ASSERT_EQ(config.kinds.count("order"), 1u);
  EXPECT_NE(config.kinds.at("order").check, nullptr);
  EXPECT_EQ(config.kinds.at("order").timeout, 5min);
  EXPECT_EQ(config.participants.count("stock"), 1u);
  EXPECT_TRUE(config.legacy_logs.empty());
}

TEST(ConfigTest, HttpClientChoosesTheTransport) {
  for (const auto& [text, expected] :
       {std::pair{"curl", HttpClient::Curl}, std::pair{"cpprest", HttpClient::Cpprest}}) {
    auto result = load_config_text(config_with(std::string("http_client: ") + text + "\n"));
    ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
    EXPECT_EQ(result.config->http_client, expected) << text;
  }
}

TEST(ConfigTest, HttpListenOffOpensNoApiPortAndAnythingElseMustBeAnAddress) {
  auto off = load_config_text(config_with("http:\n  listen: \"off\"\n"));
  ASSERT_TRUE(off.errors.empty()) << off.errors.to_string();
  EXPECT_FALSE(off.config->http.listen.has_value());
  auto typo = load_config_text(config_with("http:\n  listen: of\n"));
  ASSERT_FALSE(typo.errors.empty());
  EXPECT_NE(typo.errors.to_string().find("http.listen"), std::string::npos) << typo.errors.to_string();
  EXPECT_NE(typo.errors.to_string().find("(or off)"), std::string::npos) << typo.errors.to_string();
}

TEST(ConfigTest, HttpTlsNeedsBothFilesAndNothingElse) {
  auto tls = load_config_text(
      config_with("http:\n  tls:\n    cert_file: /tls/tls.crt\n    key_file: /tls/tls.key\n    reload_interval: 5s\n"));
  ASSERT_TRUE(tls.errors.empty()) << tls.errors.to_string();
  ASSERT_TRUE(tls.config->http.tls.has_value());
  EXPECT_EQ(tls.config->http.tls->cert_file, "/tls/tls.crt");
  EXPECT_EQ(tls.config->http.tls->key_file, "/tls/tls.key");
  EXPECT_EQ(tls.config->http.tls->reload_interval, 5s);
  EXPECT_FALSE(load_config_text(config_with("")).config->http.tls.has_value()) << "plain HTTP by default";

  auto half = load_config_text(config_with("http:\n  tls:\n    cert_file: /tls/tls.crt\n"));
  EXPECT_NE(half.errors.to_string().find("http.tls.key_file"), std::string::npos) << half.errors.to_string();
  auto typo = load_config_text(config_with("http:\n  tls:\n    cert_file: a\n    key_file: b\n    ca_file: c\n"));
  EXPECT_NE(typo.errors.to_string().find("http.tls.ca_file"), std::string::npos) << typo.errors.to_string();
  auto zero =
      load_config_text(config_with("http:\n  tls:\n    cert_file: a\n    key_file: b\n    reload_interval: 0s\n"));
  EXPECT_NE(zero.errors.to_string().find("http.tls.reload_interval"), std::string::npos) << zero.errors.to_string();
}

TEST(ConfigTest, DatabaseTimeoutsAreReadWithinTheirBounds) {
  auto result = load_config_text(
      config_with("database:\n  dsn: x\n  connect_timeout: 2s\n  statement_timeout: 1d\n  lock_timeout: 250ms\n"));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  EXPECT_EQ(result.config->database.connect_timeout, 2s);
  EXPECT_EQ(result.config->database.statement_timeout, 24h);
  EXPECT_EQ(result.config->database.lock_timeout, 250ms);
  auto equal = load_config_text(config_with("database:\n  dsn: x\n  statement_timeout: 5s\n  lock_timeout: 5s\n"));
  ASSERT_TRUE(equal.errors.empty()) << equal.errors.to_string();
}

TEST(ConfigTest, RetentionDefaultsKeepFinishedWorkThirtyDaysAndParkedWorkForEver) {
  auto result = load_config_text(config_with(""));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  const retention::RetentionConfig& retention = result.config->retention;
  EXPECT_EQ(retention.finished_after, std::optional<std::chrono::milliseconds>(24h * 30));
  EXPECT_EQ(retention.parked_after, std::nullopt);
  EXPECT_EQ(retention.interval, 1min);
  EXPECT_EQ(retention.batch_size, 1000);
  EXPECT_EQ(retention.pause, 100ms);
}

TEST(ConfigTest, RetentionKeysAreReadAndOffTurnsALimitOff) {
  auto result = load_config_text(
      config_with("retention:\n  finished_after: off\n  parked_after: 90d\n  interval: 5m\n  batch_size: 200\n  pause: "
                  "1s\n"));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  const retention::RetentionConfig& retention = result.config->retention;
  EXPECT_EQ(retention.finished_after, std::nullopt);
  EXPECT_EQ(retention.parked_after, std::optional<std::chrono::milliseconds>(24h * 90));
  EXPECT_EQ(retention.interval, 5min);
  EXPECT_EQ(retention.batch_size, 200);
  EXPECT_EQ(retention.pause, 1s);
  auto shortest = load_config_text(config_with("retention:\n  finished_after: 1h\n  parked_after: off\n"));
  ASSERT_TRUE(shortest.errors.empty()) << shortest.errors.to_string();
  EXPECT_EQ(shortest.config->retention.finished_after, std::optional<std::chrono::milliseconds>(1h));
}

TEST(ConfigTest, ExampleConfigLoads) {
  ScopedEnv pg("PGPASSWORD", "pg-secret");
  ScopedEnv order("ORDER_DB_PASSWORD", "order-secret");
  ScopedEnv stock("STOCK_TOKEN", "stock-token");
  ScopedEnv legacy_password("LEGACY_DB_PASSWORD", "legacy-secret");
  auto result = load_config_file(COMPENSATORD_SOURCE_DIR "/config/example.yaml");
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  const DaemonConfig& config = *result.config;
  EXPECT_EQ(config.database.dsn, "postgresql://compensatord:pg-secret@db:5432/orders");
  EXPECT_EQ(config.database.connect_timeout, 5s);
  EXPECT_EQ(config.database.statement_timeout, 30s);
  EXPECT_EQ(config.database.lock_timeout, 5s);
  EXPECT_EQ(config.reconciler.workers, 16);
  EXPECT_EQ(config.reconciler.lease, 60s);
  EXPECT_EQ(config.http.listen, "0.0.0.0:8080");
  EXPECT_TRUE(config.verify_tls);
  EXPECT_EQ(config.http_client, HttpClient::Curl);
  EXPECT_FALSE(config.replica_id.empty());
  const reconciler::KindConfig& order_kind = config.kinds.at("order");
  EXPECT_EQ(order_kind.retry.max_attempts, 30);  // the kind's override
  EXPECT_EQ(order_kind.retry.max_age, 72h);      // merged from the top-level retry
  EXPECT_EQ(order_kind.retry.initial_backoff, config.retry.initial_backoff);
  EXPECT_EQ(config.participants.size(), 2u);
  ASSERT_EQ(config.legacy_logs.size(), 1u);
  const sources::LegacyLogConfig& legacy = config.legacy_logs[0];
  EXPECT_EQ(legacy.name, "old_order_log");
  EXPECT_EQ(legacy.dsn, "postgresql://reader:legacy-secret@legacydb:5432/shop");
  EXPECT_EQ(legacy.kind, "order");
  EXPECT_EQ(legacy.interval, 10s);
  EXPECT_EQ(legacy.statement_timeout, 30s);  // the default
  ASSERT_EQ(legacy.branches.size(), 2u);
  EXPECT_EQ(legacy.branches[0].participant, "stock");
  EXPECT_EQ(legacy.branches[0].fields.at("qty"), "qty");
  EXPECT_EQ(legacy.branches[1].fields.at("coupon_id"), "coupon_id");
}

TEST(ConfigTest, ExampleWithoutItsSecretsNamesTheVariablesNotTheirValues) {
  ScopedEnv order("ORDER_DB_PASSWORD", "order-secret");
  auto result = load_config_file(COMPENSATORD_SOURCE_DIR "/config/example.yaml");
  ASSERT_FALSE(result.config);
  const std::string text = result.errors.to_string();
  EXPECT_NE(text.find("database.dsn (line 9): environment variable PGPASSWORD is not set"), std::string::npos) << text;
  EXPECT_NE(text.find("STOCK_TOKEN"), std::string::npos) << text;
  EXPECT_NE(text.find("LEGACY_DB_PASSWORD"), std::string::npos) << text;
  EXPECT_EQ(text.find("order-secret"), std::string::npos) << text;
}

TEST(ConfigTest, KindRetryMergesOverTopLevelRetry) {
  auto result = load_config_text(
      config_with("retry:\n  initial_backoff: 2s\n  max_attempts: 7\n"
                  "kinds:\n  order:\n    timeout: 30s\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n"
                  "    retry:\n      max_attempts: 3\n      jitter: 0\n"));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  const reconciler::RetryPolicy& retry = result.config->kinds.at("order").retry;
  EXPECT_EQ(retry.initial_backoff, 2s);
  EXPECT_EQ(retry.max_attempts, 3);
  EXPECT_EQ(retry.jitter, 0.0);
  EXPECT_EQ(retry.max_backoff, 5min);
  EXPECT_EQ(result.config->kinds.at("order").timeout, 30s);
  EXPECT_EQ(result.config->retry.max_attempts, 7);
}

TEST(ConfigTest, ApiTokensComeFromTheEnvironmentOrAFileWithoutItsLineBreak) {
  ScopedEnv secret("TEST_API_TOKEN", "read-token-0123456789");
  const std::string file = ::testing::TempDir() + "/compensatord-admin-token";
  std::ofstream(file) << "admin-token-0123456789\n";
  auto result =
      load_config_text(config_with("http:\n  tokens:\n"
                                   "    - {name: dashboards, scope: read, token: \"${TEST_API_TOKEN}\"}\n"
                                   "    - {name: ops, scope: admin, token_file: " +
                                   file + "}\n"));
  ASSERT_TRUE(result.config) << result.errors.to_string();
  const auto& tokens = result.config->http.tokens;
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].name, "dashboards");
  EXPECT_EQ(tokens[0].scope, http::ApiScope::Read);
  EXPECT_EQ(tokens[0].secret, "read-token-0123456789");
  EXPECT_EQ(tokens[1].scope, http::ApiScope::Admin);
  EXPECT_EQ(tokens[1].secret, "admin-token-0123456789");
  EXPECT_TRUE(load_config_text(config_with("")).config->http.tokens.empty()) << "none by default: the API is closed";
}

TEST(ConfigTest, ExplicitReplicaIdIsKept) {
  ScopedEnv pod("TEST_POD_NAME", "compensatord-7f9c");
  auto result = load_config_text(config_with("replica_id: ${TEST_POD_NAME}\n"));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  EXPECT_EQ(result.config->replica_id, "compensatord-7f9c");
}

struct BadValue {
  std::string name;
  std::string yaml;  // put first in the document: lines count from 1 here
  std::string path;
  int line;
  std::string message;  // a fragment of the error message
};

std::ostream& operator<<(std::ostream& out, const BadValue& c) { return out << c.name; }

class BadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(BadValueTest, NamesPathAndLine) {
  const BadValue& c = GetParam();
  auto result = load_config_text(config_with(c.yaml));
  EXPECT_FALSE(result.config);
  const yaml::ConfigError* error = find_error(result, c.path);
  ASSERT_NE(error, nullptr) << "no error at " << c.path << "; got:\n" << result.errors.to_string();
  EXPECT_EQ(error->line, c.line) << error->to_string();
  EXPECT_NE(error->message.find(c.message), std::string::npos) << error->to_string();
}

const std::string kLegacyHead =
    "sources:\n"
    "  legacy_logs:\n"
    "    - name: old\n"
    "      dsn: postgresql://legacy/shop\n"
    "      kind: order\n";
const std::string kLegacyBranches =
    "      branches:\n"
    "        - participant: stock\n"
    "          fields: {sku: sku}\n";

const BadValue kBadValues[] = {
    {"DsnMissing", "database:\n  connect_timeout: 5s\n", "database.dsn", 2, "required"},
    {"DsnEmpty", "database:\n  dsn: \"\"\n", "database.dsn", 2, "must not be empty"},
    {"DatabaseMissing", "logging: {level: info}\ndatabase:\n", "database", 2, "required"},
    {"DatabaseNotAMap", "database: postgresql://x\n", "database", 1, "expected a map"},
    {"ConnectTimeoutZero", "database:\n  dsn: x\n  connect_timeout: 0s\n", "database.connect_timeout", 3,
     "must be positive"},
    {"ConnectTimeoutWithoutUnit", "database:\n  dsn: x\n  connect_timeout: 5\n", "database.connect_timeout", 3,
     "expected a duration"},
    {"ConnectTimeoutNegative", "database:\n  dsn: x\n  connect_timeout: -1s\n", "database.connect_timeout", 3,
     "expected a duration"},
    {"ConnectTimeoutTooLong", "database:\n  dsn: x\n  connect_timeout: 4000d\n", "database.connect_timeout", 3,
     "at most 3650d"},
    {"StatementTimeoutZero", "database:\n  dsn: x\n  statement_timeout: 0s\n", "database.statement_timeout", 3,
     "must be positive and at most 1d"},
    {"StatementTimeoutNegative", "database:\n  dsn: x\n  statement_timeout: -5s\n", "database.statement_timeout", 3,
     "expected a duration"},
    {"StatementTimeoutOverADay", "database:\n  dsn: x\n  statement_timeout: 25h\n", "database.statement_timeout", 3,
     "must be positive and at most 1d"},
    {"StatementTimeoutHuge", "database:\n  dsn: x\n  statement_timeout: 99999999999999999999999d\n",
     "database.statement_timeout", 3, "expected a duration"},
    {"StatementTimeoutNotADuration", "database:\n  dsn: x\n  statement_timeout: [30s]\n", "database.statement_timeout",
     3, "expected a string"},
    {"LockTimeoutZero", "database:\n  dsn: x\n  lock_timeout: 0ms\n", "database.lock_timeout", 3,
     "must be positive and at most 1d"},
    {"LockTimeoutWithoutUnit", "database:\n  dsn: x\n  lock_timeout: 5000\n", "database.lock_timeout", 3,
     "expected a duration"},
    {"LockTimeoutOverTheStatementTimeout", "database:\n  dsn: x\n  statement_timeout: 2s\n  lock_timeout: 3s\n",
     "database.lock_timeout", 4, "lock_timeout (3000ms) must not be larger than statement_timeout (2000ms)"},
    {"LockTimeoutOverTheDefaultStatementTimeout", "database:\n  dsn: x\n  lock_timeout: 1m\n", "database.lock_timeout",
     3, "must not be larger than statement_timeout (30000ms)"},
    {"StatementTimeoutUnderTheDefaultLockTimeout", "database:\n  dsn: x\n  statement_timeout: 1s\n",
     "database.statement_timeout", 3, "lock_timeout (5000ms) must not be larger than statement_timeout (1000ms)"},
    {"BatchSizeZero", "reconciler:\n  batch_size: 0\n", "reconciler.batch_size", 2, "between 1 and 10000"},
    {"BatchSizeTooBig", "reconciler:\n  batch_size: 10001\n", "reconciler.batch_size", 2, "between 1 and 10000"},
    {"BatchSizeNotANumber", "reconciler:\n  batch_size: lots\n", "reconciler.batch_size", 2, "expected an integer"},
    {"BatchSizeFraction", "reconciler:\n  batch_size: 1.5\n", "reconciler.batch_size", 2, "expected an integer"},
    {"BatchSizeHuge", "reconciler:\n  batch_size: 99999999999999999999999\n", "reconciler.batch_size", 2,
     "expected an integer"},
    {"WorkersZero", "reconciler:\n  workers: 0\n", "reconciler.workers", 2, "between 1 and 1024"},
    {"WorkersTooMany", "reconciler:\n  workers: 1025\n", "reconciler.workers", 2, "between 1 and 1024"},
    {"PollIntervalZero", "reconciler:\n  poll_interval: 0ms\n", "reconciler.poll_interval", 2, "must be positive"},
    {"LeaseGarbage", "reconciler:\n  lease: soon\n", "reconciler.lease", 2, "expected a duration"},
    {"ShutdownGraceAList", "reconciler:\n  shutdown_grace: [1s]\n", "reconciler.shutdown_grace", 2,
     "expected a string"},
    {"JitterAboveOne", "retry:\n  jitter: 1.5\n", "retry.jitter", 2, "between 0 and 1"},
    {"JitterNegative", "retry:\n  jitter: -0.1\n", "retry.jitter", 2, "between 0 and 1"},
    {"JitterNaN", "retry:\n  jitter: .nan\n", "retry.jitter", 2, "expected a number"},
    {"MultiplierBelowOne", "retry:\n  multiplier: 0.5\n", "retry.multiplier", 2, "between 1 and 100"},
    {"MaxAttemptsZero", "retry:\n  max_attempts: 0\n", "retry.max_attempts", 2, "between 1 and"},
    {"MaxAgeZero", "retry:\n  max_age: 0h\n", "retry.max_age", 2, "must be positive"},
    {"InitialBackoffAboveMax", "retry:\n  max_backoff: 1m\n  initial_backoff: 2m\n", "retry.initial_backoff", 3,
     "must not be larger than max_backoff"},
    {"KindInitialBackoffAboveTopLevelMax",
     "kinds:\n  order:\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n    retry:\n      initial_backoff: 10m\n",
     "kinds.order.retry.initial_backoff", 5, "must not be larger than max_backoff (300000ms)"},
    {"KindRetryBadJitter",
     "kinds:\n  order:\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n    retry: {jitter: 2}\n",
     "kinds.order.retry.jitter", 4, "between 0 and 1"},
    {"RetentionNotAMap", "retention: 30d\n", "retention", 1, "expected a map"},
    {"RetentionFinishedAfterWithoutUnit", "retention:\n  finished_after: 30\n", "retention.finished_after", 2,
     "expected a duration like 30d, or off, got '30'"},
    {"RetentionFinishedAfterFalse", "retention:\n  finished_after: false\n", "retention.finished_after", 2,
     "or off, got 'false'"},
    {"RetentionFinishedAfterUnderAnHour", "retention:\n  finished_after: 59m\n", "retention.finished_after", 2,
     "must be at least 1h and at most 3650d (or off)"},
    {"RetentionParkedAfterTooLong", "retention:\n  parked_after: 3651d\n", "retention.parked_after", 2,
     "must be at least 1h and at most 3650d (or off)"},
    {"RetentionIntervalZero", "retention:\n  interval: 0s\n", "retention.interval", 2, "must be positive"},
    {"RetentionBatchSizeZero", "retention:\n  batch_size: 0\n", "retention.batch_size", 2, "between 1 and 10000"},
    {"RetentionBatchSizeTooBig", "retention:\n  batch_size: 10001\n", "retention.batch_size", 2, "between 1 and 10000"},
    {"RetentionPauseZero", "retention:\n  pause: 0ms\n", "retention.pause", 2, "must be positive and at most 1m"},
    {"RetentionPauseTooLong", "retention:\n  pause: 2m\n", "retention.pause", 2, "must be positive and at most 1m"},
    {"RetentionUnknownKey", "retention:\n  finished: 30d\n", "retention.finished", 2, "unknown key 'finished'"},
    {"LevelUnknown", "logging:\n  level: verbose\n", "logging.level", 2, "one of trace, debug, info, warn, error"},
    {"ListenWithoutPort", "http:\n  listen: localhost\n", "http.listen", 2, "expected host:port"},
    {"ListenPortTooBig", "http:\n  listen: 127.0.0.1:99999\n", "http.listen", 2, "expected host:port"},
    {"VerifyTlsNotBool", "verify_tls: maybe\n", "verify_tls", 1, "expected true or false"},
    {"HttpClientUnknown", "verify_tls: true\nhttp_client: wget\n", "http_client", 2,
     "must be curl or cpprest, got 'wget'"},
    {"HttpClientNotString", "http_client: [curl]\n", "http_client", 1, "expected a string"},
    {"ReplicaIdWithSpaces", "replica_id: \"two words\"\n", "replica_id", 1, "printable characters"},
    {"KindsMissing", "logging: {level: info}\nkinds:\n", "kinds", 2, "at least one kind"},
    {"KindsEmpty", "kinds: {}\n", "kinds", 1, "at least one kind"},
    {"KindWithoutValue", "kinds:\n  order:\n", "kinds.order", 2, "expected a map with a check"},
    {"KindWithoutCheck", "kinds:\n  order:\n    timeout: 5m\n", "kinds.order.check", 3, "needs a check"},
    {"KindWithTwoChecks",
     "kinds:\n  order:\n    check:\n      sql: {dsn: x, query: \"SELECT $1\"}\n      http: {url: "
     "\"http://o/{{xid}}\"}\n",
     "kinds.order.check", 4, "exactly one of"},
    {"KindNameInvalid", "kinds:\n  \"bad kind!\":\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n",
     "kinds.bad kind!", 3, "letters, digits"},
    {"KindTimeoutZero", "kinds:\n  order:\n    timeout: 0s\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n",
     "kinds.order.timeout", 3, "must be positive"},
    {"ParticipantsMissing", "logging: {level: info}\nparticipants:\n", "participants", 2, "at least one participant"},
    {"ParticipantsNotAMap", "participants: [stock]\n", "participants", 1, "expected a map"},
    {"UnknownTopLevelKey", "retires:\n  max_attempts: 3\n", "retires", 1, "unknown key 'retires', expected one of"},
    {"UnknownNestedKey", "reconciler:\n  batchsize: 10\n", "reconciler.batchsize", 2, "unknown key 'batchsize'"},
    {"UnknownKindKey", "kinds:\n  order:\n    timout: 5m\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n",
     "kinds.order.timout", 3, "unknown key 'timout'"},
    {"UnknownRetryKey", "retry:\n  max_attempt: 3\n", "retry.max_attempt", 2, "unknown key 'max_attempt'"},
    {"UnknownSourcesKey", "sources:\n  rabbitmq: {}\n", "sources.rabbitmq", 2, "unknown key 'rabbitmq'"},
    {"DuplicateKey", "reconciler:\n  workers: 2\n  workers: 3\n", "reconciler.workers", 3, "duplicate key"},
    {"UnsetEnvironmentVariable", "database:\n  dsn: \"postgresql://u:${COMPENSATORD_TEST_UNSET}@db/x\"\n",
     "database.dsn", 2, "environment variable COMPENSATORD_TEST_UNSET is not set"},
    {"UnclosedEnvironmentVariable", "database:\n  dsn: \"postgresql://u:${PASSWORD@db/x\"\n", "database.dsn", 2,
     "unclosed"},
    {"ApiTokenTooShort", "http:\n  tokens:\n    - {name: ops, scope: admin, token: short}\n", "http.tokens[0].token", 3,
     "at least 16 characters"},
    {"ApiTokenWithSpace", "http:\n  tokens:\n    - {name: ops, scope: admin, token: \"0123456789 abcdef\"}\n",
     "http.tokens[0].token", 3, "without spaces"},
    {"ApiTokenScopeUnknown", "http:\n  tokens:\n    - {name: ops, scope: root, token: 0123456789abcdef}\n",
     "http.tokens[0].scope", 3, "expected read or admin"},
    {"ApiTokenAndFile",
     "http:\n  tokens:\n    - {name: ops, scope: read, token: 0123456789abcdef, token_file: /etc/t}\n",
     "http.tokens[0]", 3, "exactly one of token"},
    {"ApiTokenFileMissing",
     "http:\n  tokens:\n    - {name: ops, scope: read, token_file: /nonexistent/compensatord-token}\n",
     "http.tokens[0].token_file", 3, "cannot read '/nonexistent/compensatord-token'"},
    {"ApiTokenNameInvalid", "http:\n  tokens:\n    - {name: \"o p s\", scope: read, token: 0123456789abcdef}\n",
     "http.tokens[0].name", 3, "letters, digits"},
    {"ApiTokenNameTwice",
     "http:\n  tokens:\n    - {name: ops, scope: read, token: 0123456789abcdef}\n"
     "    - {name: ops, scope: admin, token: fedcba9876543210}\n",
     "http.tokens[1].name", 4, "given twice"},
    {"ApiTokenValueTwice",
     "http:\n  tokens:\n    - {name: ops, scope: read, token: 0123456789abcdef}\n"
     "    - {name: dev, scope: admin, token: 0123456789abcdef}\n",
     "http.tokens[1]", 4, "the same token as 'ops'"},
    {"ApiTokensNotAList", "http:\n  tokens: {name: ops}\n", "http.tokens", 2, "expected a list"},
    {"LegacyLogsNotAList", "sources:\n  legacy_logs: {name: old}\n", "sources.legacy_logs", 2, "expected a list"},
    {"LegacyUnknownKind",
     "sources:\n  legacy_logs:\n    - name: old\n      dsn: x\n      kind: refund\n      query: SELECT 1 AS xid\n" +
         kLegacyBranches,
     "sources.legacy_logs[0].kind", 5, "unknown kind 'refund'"},
    {"LegacyUnknownParticipant",
     kLegacyHead + "      query: SELECT order_no AS xid FROM log\n" +
         "      branches:\n        - participant: points\n          fields: {n: n}\n",
     "sources.legacy_logs[0].branches[0].participant", 8, "unknown participant 'points'"},
    {"LegacyQueryEmpty", kLegacyHead + "      query: \"  \"\n" + kLegacyBranches, "sources.legacy_logs[0].query", 6,
     "must not be empty"},
    {"LegacyQueryMissing", kLegacyHead + kLegacyBranches, "sources.legacy_logs[0].query", 3, "required"},
    {"LegacyQueryWithParameter",
     kLegacyHead + "      query: SELECT order_no AS xid FROM log WHERE id > $1\n" + kLegacyBranches,
     "sources.legacy_logs[0].query", 6, "must not use parameters"},
    {"LegacyDsnMissing",
     "sources:\n  legacy_logs:\n    - name: old\n      kind: order\n      query: SELECT 1 AS xid\n" + kLegacyBranches,
     "sources.legacy_logs[0].dsn", 3, "required"},
    {"LegacyIntervalZero", kLegacyHead + "      query: SELECT 1 AS xid\n      interval: 0s\n" + kLegacyBranches,
     "sources.legacy_logs[0].interval", 7, "must be positive"},
    {"LegacyStatementTimeoutZero",
     kLegacyHead + "      query: SELECT 1 AS xid\n      statement_timeout: 0s\n" + kLegacyBranches,
     "sources.legacy_logs[0].statement_timeout", 7, "must be positive and at most 1d"},
    {"LegacyStatementTimeoutTooLong",
     kLegacyHead + "      query: SELECT 1 AS xid\n      statement_timeout: 25h\n" + kLegacyBranches,
     "sources.legacy_logs[0].statement_timeout", 7, "must be positive and at most 1d"},
    {"LegacyStatementTimeoutNotADuration",
     kLegacyHead + "      query: SELECT 1 AS xid\n      statement_timeout: 30\n" + kLegacyBranches,
     "sources.legacy_logs[0].statement_timeout", 7, "expected a duration"},
    {"LegacyBranchesMissing", kLegacyHead + "      query: SELECT 1 AS xid\n", "sources.legacy_logs[0].branches", 3,
     "at least one branch"},
    {"LegacyBranchFieldsMissing",
     kLegacyHead + "      query: SELECT 1 AS xid\n      branches:\n        - participant: stock\n",
     "sources.legacy_logs[0].branches[0].fields", 8, "branch field to result column"},
    {"LegacyBranchUnknownKey",
     kLegacyHead + "      query: SELECT 1 AS xid\n      branches:\n        - participant: stock\n" +
         "          fields: {sku: sku}\n          field: {qty: qty}\n",
     "sources.legacy_logs[0].branches[0].field", 10, "unknown key 'field'"},
    {"LegacyUnknownKey", kLegacyHead + "      query: SELECT 1 AS xid\n      intervall: 5s\n" + kLegacyBranches,
     "sources.legacy_logs[0].intervall", 7, "unknown key 'intervall'"},
    {"LegacyDuplicateName",
     kLegacyHead + "      query: SELECT 1 AS xid\n" + kLegacyBranches +
         "    - name: old\n      dsn: x\n      kind: order\n      query: SELECT 1 AS xid\n" + kLegacyBranches,
     "sources.legacy_logs[1].name", 10, "duplicate legacy log name 'old'"},
    {"LegacyNameInvalid",
     "sources:\n  legacy_logs:\n    - name: \"old log\"\n      dsn: x\n      kind: order\n      query: SELECT 1 AS "
     "xid\n" +
         kLegacyBranches,
     "sources.legacy_logs[0].name", 3, "letters, digits"},
};

std::string case_name(const ::testing::TestParamInfo<BadValue>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Config, BadValueTest, ::testing::ValuesIn(kBadValues), case_name);

TEST(ConfigTest, LegacyLogSourceNeedsExistingKindAndParticipants) {
  auto result = load_config_text(
      config_with(kLegacyHead + "      query: SELECT order_no AS xid, sku FROM log;\n" + kLegacyBranches));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  ASSERT_EQ(result.config->legacy_logs.size(), 1u);
  EXPECT_EQ(result.config->legacy_logs[0].interval, 10s);
  EXPECT_EQ(result.config->legacy_logs[0].branches[0].fields.at("sku"), "sku");
}

TEST(ConfigTest, LegacyLogStatementTimeoutIsRead) {
  auto result = load_config_text(config_with(kLegacyHead + "      query: SELECT order_no AS xid, sku FROM log\n" +
                                             "      statement_timeout: 250ms\n" + kLegacyBranches));
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  EXPECT_EQ(result.config->legacy_logs.at(0).statement_timeout, 250ms);
}

TEST(ConfigTest, AbsentRequiredSectionsAreNamed) {
  auto result = load_config_text("logging:\n  level: info\n");
  ASSERT_FALSE(result.config);
  for (std::string_view path : {"database", "kinds", "participants"}) {
    const yaml::ConfigError* error = find_error(result, path);
    ASSERT_NE(error, nullptr) << path << " missing in:\n" << result.errors.to_string();
    EXPECT_EQ(error->line, 0) << "an absent key has no line";
  }
}

TEST(ConfigTest, ReportsEveryErrorOfTheFileAtOnce) {
  auto result = load_config_text(config_with(
      "reconciler:\n  batch_size: 0\n  workers: 0\nlogging:\n  level: loud\nretires: {}\nretry:\n  jitter: 3\n"));
  EXPECT_FALSE(result.config);
  for (std::string_view path :
       {"reconciler.batch_size", "reconciler.workers", "logging.level", "retires", "retry.jitter"}) {
    EXPECT_NE(find_error(result, path), nullptr) << path << " missing in:\n" << result.errors.to_string();
  }
  EXPECT_EQ(result.errors.all().size(), 5u) << result.errors.to_string();
}

TEST(ConfigTest, ErrorsOfParticipantsAndChecksAreCollectedToo) {
  auto result = load_config_text(config_with(
      "kinds:\n  order:\n    check: {sql: {dsn: x, query: \"SELECT 1\"}}\n"
      "participants:\n  stock:\n    base_url: ftp://stock\n    actions:\n      cancel: {method: POST, path: /x}\n"));
  EXPECT_FALSE(result.config);
  EXPECT_NE(find_error(result, "kinds.order.check.sql.query"), nullptr) << result.errors.to_string();
  EXPECT_NE(find_error(result, "participants.stock.base_url"), nullptr) << result.errors.to_string();
}

TEST(ConfigTest, YamlSyntaxErrorReportsTheLine) {
  auto result = load_config_text("database:\n  dsn: x\nreconciler:\n  workers: [1, 2\n  lease: 5s\n");
  ASSERT_FALSE(result.config);
  ASSERT_EQ(result.errors.all().size(), 1u);
  const yaml::ConfigError& error = result.errors.all()[0];
  EXPECT_NE(error.message.find("invalid YAML"), std::string::npos) << error.to_string();
  EXPECT_GE(error.line, 4);
  EXPECT_LE(error.line, 6);
}

TEST(ConfigTest, TabIndentationIsASyntaxError) {
  auto result = load_config_text("database:\n\tdsn: x\n");
  ASSERT_FALSE(result.config);
  EXPECT_NE(result.errors.to_string().find("invalid YAML"), std::string::npos) << result.errors.to_string();
}

TEST(ConfigTest, EmptyOrScalarDocumentIsRejected) {
  for (const std::string text : {"", "# only a comment\n", "just a string\n", "- a\n- b\n", "~\n"}) {
    auto result = load_config_text(text);
    EXPECT_FALSE(result.config) << text;
    EXPECT_NE(result.errors.to_string().find("expected a map of sections"), std::string::npos)
        << text << ": " << result.errors.to_string();
  }
}

TEST(ConfigTest, HugeTextIsRejectedBeforeParsing) {
  std::string huge = "database:\n  dsn: \"" + std::string(5 * 1024 * 1024, 'x') + "\"\n";
  auto result = load_config_text(huge);
  ASSERT_FALSE(result.config);
  EXPECT_NE(result.errors.to_string().find("more than the limit"), std::string::npos);
}

TEST(ConfigTest, HugeValuesWithinTheLimitGiveClearErrors) {
  const std::string long_name(1000, 'k');  // YAML limits implicit keys to 1024 characters
  auto result = load_config_text(config_with("replica_id: " + std::string(200000, 'r') + "\nkinds:\n  " + long_name +
                                             ":\n    check: {sql: {dsn: x, query: \"SELECT $1\"}}\n"));
  ASSERT_FALSE(result.config);
  EXPECT_NE(find_error(result, "replica_id"), nullptr);
  const yaml::ConfigError* kind = find_error(result, "kinds." + long_name);
  ASSERT_NE(kind, nullptr) << result.errors.to_string().substr(0, 2000);
  EXPECT_LT(kind->message.size(), 500u) << "the message must not repeat a huge name";
}

TEST(ConfigTest, DeeplyNestedDocumentDoesNotCrash) {
  auto flow = load_config_text("retires: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  EXPECT_FALSE(flow.config);
  EXPECT_NE(flow.errors.to_string().find("nested deeper than"), std::string::npos) << flow.errors.to_string();

  std::string block = "retires:\n";
  for (int depth = 1; depth < 3000; ++depth) block += std::string(static_cast<std::size_t>(depth) * 2, ' ') + "a:\n";
  auto nested = load_config_text(block);
  EXPECT_FALSE(nested.config);
  EXPECT_FALSE(nested.errors.empty());
}

TEST(ConfigTest, AliasBombIsNotExpanded) {
  std::string text = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 30; ++i) {
    text += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  auto result = load_config_text(config_with(text));
  EXPECT_FALSE(result.config);
  EXPECT_NE(find_error(result, "x29"), nullptr);
}

TEST(ConfigTest, BinaryGarbageDoesNotCrash) {
  std::mt19937 random(42);
  for (int round = 0; round < 50; ++round) {
    std::string garbage(4096, '\0');
    for (auto& c : garbage) c = static_cast<char>(random() & 0xff);
    auto result = load_config_text(garbage);
    EXPECT_FALSE(result.config);
    EXPECT_FALSE(result.errors.empty());
  }
}

TEST(ConfigTest, MissingFileNamesTheFile) {
  auto result = load_config_file("/nonexistent/compensatord.yaml");
  ASSERT_FALSE(result.config);
  EXPECT_NE(result.errors.to_string().find("/nonexistent/compensatord.yaml"), std::string::npos);
}

TEST(ConfigTest, DirectoryIsNotAConfigFile) {
  auto result = load_config_file(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(result.config);
  EXPECT_NE(result.errors.to_string().find("cannot read config file"), std::string::npos) << result.errors.to_string();
}

TEST(ConfigTest, FileIsReadAndValidated) {
  auto path = std::filesystem::temp_directory_path() / ("compensatord-config-test-" + std::to_string(::getpid()));
  {
    std::ofstream file(path);
    file << config_with("reconciler:\n  workers: 4\n");
  }
  auto result = load_config_file(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(result.errors.empty()) << result.errors.to_string();
  EXPECT_EQ(result.config->reconciler.workers, 4);
}

}  // namespace
}  // namespace compensatord::config
