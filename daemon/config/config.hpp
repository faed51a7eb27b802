#pragma once
// The daemon's validated configuration. Every key, its type and default is documented in
// docs/configuration.md; load_config() is the only way to build one.

#include "config/yaml_reader.hpp"
#include "http/api_tls.hpp"
#include "http/api_token.hpp"
#include "kafka/kafka_config.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace compensatord::adapters {
class ParticipantSpec;
}
namespace compensatord::check {
struct CheckSpec;
}

namespace compensatord::config {

using std::chrono::milliseconds;

struct DatabaseConfig {
  std::string dsn;  // required; compensatord's state (and the pending log)
  milliseconds connect_timeout{std::chrono::seconds(5)};
  milliseconds statement_timeout{std::chrono::seconds(30)};
  milliseconds lock_timeout{std::chrono::seconds(5)};  // at most statement_timeout
};

struct RetryPolicy {
  milliseconds initial_backoff{std::chrono::seconds(1)};
  milliseconds max_backoff{std::chrono::minutes(5)};
  double multiplier = 2.0;
  double jitter = 0.2;                           // +/- share of the delay, 0..1
  int max_attempts = 50;                         // then PARKED
  milliseconds max_age{std::chrono::hours(72)};  // since creation; then PARKED
};

struct KindConfig {
  std::string name;
  milliseconds timeout{std::chrono::minutes(5)};  // due = created + timeout, unless the source gives a due time
  std::shared_ptr<const check::CheckSpec> check;  // required
  RetryPolicy retry;                              // defaults to the top-level `retry`
};

struct BranchMapping {
  std::string participant;
  // branch field name -> column of the legacy query's result
  std::map<std::string, std::string> fields;

  bool operator==(const BranchMapping&) const = default;
};

struct LegacyLogSource {
  std::string name;
  std::string dsn;
  std::string query;  // must return a column named `xid`; may return `due_at` (timestamptz)
  std::string kind;
  milliseconds interval{std::chrono::seconds(10)};
  // The longest one statement of a poll may run: a hung legacy database must not hold the source.
  milliseconds statement_timeout{std::chrono::seconds(30)};
  std::vector<BranchMapping> branches;  // a branch whose mapped columns are all NULL is omitted

  bool operator==(const LegacyLogSource&) const = default;
};

struct ReconcilerConfig {
  int batch_size = 100;
  int workers = 16;
  milliseconds poll_interval{std::chrono::seconds(1)};
  milliseconds lease{std::chrono::seconds(60)};
  milliseconds shutdown_grace{std::chrono::seconds(30)};
  // /healthz fails when work is waiting and no claim or reconcile completed for this long.
  milliseconds stall_timeout{std::chrono::minutes(5)};
};

struct HttpConfig {
  // The /v1 API; nothing (`off`) opens no API port at all (the probes are on metrics.listen).
  std::optional<std::string> listen = "127.0.0.1:8080";
  std::vector<http::ApiToken> tokens;  // none: every /v1 request is refused (401)
  std::optional<http::ApiTls> tls;     // none: plain HTTP
};

struct MetricsConfig {
  std::string listen = "0.0.0.0:9464";                     // /metrics, /healthz and /readyz
  milliseconds refresh_interval{std::chrono::seconds(5)};  // how often the store gauges are read
};

// `retention`: which finished history the retention job deletes, and how gently. A limit of
// nullopt (`off`) keeps those rows for ever; with both limits off the job does not run.
struct RetentionConfig {
  // CONFIRMED and CANCELLED transactions, counted from finished_at.
  std::optional<milliseconds> finished_after{std::chrono::hours(24 * 30)};
  // PARKED (and ABANDONED) transactions, counted from their last change: deleting one gives up on
  // its compensation, so it is a decision an operator takes explicitly.
  std::optional<milliseconds> parked_after;
  milliseconds interval{std::chrono::minutes(1)};      // between two runs
  int batch_size = 1000;                               // transactions per DELETE statement
  milliseconds pause{std::chrono::milliseconds(100)};  // between two batches of one run
};

struct LoggingConfig {
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "json";  // json (one object per line) or text
};

// The HTTP client library behind adapters::HttpTransport (`http_client`).
enum class HttpClient { Curl, Cpprest };

struct DaemonConfig {
  std::string replica_id;  // default: hostname-pid
  DatabaseConfig database;
  ReconcilerConfig reconciler;
  RetryPolicy retry;
  HttpConfig http;
  MetricsConfig metrics;
  LoggingConfig logging;
  RetentionConfig retention;
  std::map<std::string, KindConfig> kinds;
  std::map<std::string, std::shared_ptr<const adapters::ParticipantSpec>> participants;
  std::vector<LegacyLogSource> legacy_logs;
  std::optional<kafka::KafkaSourceConfig> kafka;  // sources.kafka: delayed check messages
  bool verify_tls = true;
  HttpClient http_client = HttpClient::Curl;  // the faster of the two in bench/README.md
};

struct LoadResult {
  std::optional<DaemonConfig> config;  // set when there are no errors
  ConfigErrors errors;
  YAML::Node document;  // the YAML as written, when `config` is set: a reload compares sections by it
};

// Reads, expands ${ENV} and validates a config file. Reads nothing else but the API's token files.
LoadResult load_config_file(const std::string& path);
LoadResult load_config_text(const std::string& yaml_text);

// The shortest reconciler.lease that `config`'s checks and participants allow: the longest check,
// a wait for a free max_in_flight slot and a call, and a margin. Loading enforces it for the
// config's own lease; a reload, which keeps the running lease, checks it against that one.
milliseconds least_lease(const DaemonConfig& config);

}  // namespace compensatord::config
