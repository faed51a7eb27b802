#pragma once
// The daemon's validated configuration. Every key, its type and default is documented in
// docs/configuration.md. Each module owns its section's options and parses them;
// this file composes them. load_config_file() and load_config_text() are the only ways to build one.

#include "http/http_config.hpp"
#include "logging/logging_config.hpp"
#include "metrics/metrics_config.hpp"
#include "reconciler/reconciler_config.hpp"
#include "retention/retention_config.hpp"
#include "sources/kafka/kafka_config.hpp"
#include "sources/legacy_log_config.hpp"
#include "store/database_config.hpp"
#include "yaml/reader.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace compensatord::adapters {
class ParticipantSpec;
}

namespace compensatord::config {

using std::chrono::milliseconds;

// The HTTP client library behind adapters::HttpTransport (`http_client`).
enum class HttpClient { Curl, Cpprest };

struct DaemonConfig {
  std::string replica_id;  // default: hostname-pid
  store::DatabaseConfig database;
  reconciler::ReconcilerConfig reconciler;
  reconciler::RetryPolicy retry;
  http::HttpConfig http;
  metrics::MetricsConfig metrics;
  logging::LoggingConfig logging;
  retention::RetentionConfig retention;
  reconciler::KindConfigs kinds;
  std::map<std::string, std::shared_ptr<const adapters::ParticipantSpec>> participants;
  std::vector<sources::LegacyLogConfig> legacy_logs;
  std::optional<kafka::KafkaSourceConfig> kafka;  // sources.kafka: delayed check messages
  bool verify_tls = true;
  HttpClient http_client = HttpClient::Curl;  // the faster of the two in bench/README.md
};

struct LoadResult {
  std::optional<DaemonConfig> config;  // set when there are no errors
  yaml::ConfigErrors errors;
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
