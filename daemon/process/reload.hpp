#pragma once
// Config reload (SIGHUP): the config file is read and validated again; a valid one replaces the
// kinds' checks and retry policies, the participants' adapters, the Kafka source's message rules
// and the log level and format, without dropping work in flight. An invalid one changes nothing.

#include "adapters/http_transport.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "reconciler/reconcile.hpp"
#include "sources/kafka/kafka_source.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace compensatord::process {

// What a reload swaps things in.
struct ReloadTargets {
  reconciler::TransactionReconciler& reconciler;
  std::shared_ptr<adapters::HttpTransport> transport;  // the one every adapter and HTTP check shares
  metrics::Metrics& metrics;
  kafka::KafkaSource* kafka = nullptr;  // none without sources.kafka
};

// The Kafka source's rules for `config`'s kinds and participants, with the limits of `source`.
kafka::MessageRules kafka_message_rules(const kafka::KafkaSourceConfig& source, const config::DaemonConfig& config);

class ConfigReloader {
 public:
  // `started` is what `path` held when the daemon started (its `config` set): the settings a
  // reload cannot change keep running on it.
  ConfigReloader(std::string path, config::LoadResult started, ReloadTargets targets);

  // Reads the file again and applies it, or keeps the running config and logs every error with its
  // key path and line. Called by the signal watcher, one reload at a time.
  void reload();

  // Why the last reload was refused, for /readyz?verbose; nothing once one was applied.
  [[nodiscard]] std::optional<std::string> last_failure() const;

 private:
  void refuse(const yaml::ConfigErrors& errors);
  void apply(config::LoadResult next);

  std::string path_;
  const config::LoadResult started_;
  config::LoadResult current_;  // the last one applied
  ReloadTargets targets_;
  mutable std::mutex failure_mutex_;  // the HTTP server's threads read failure_
  std::optional<std::string> failure_;
};

}  // namespace compensatord::process
