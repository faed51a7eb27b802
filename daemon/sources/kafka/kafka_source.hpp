#pragma once
// KafkaSource: reads delayed check messages in a consumer group and stores each one as a
// transaction, a poll batch at a time in one database transaction (IngestStore::ingest_batch),
// committing offsets only after the database commit (docs/design.md, "Durable before acknowledged"). Bad messages go to
// the dead-letter topic and the partition moves on. librdkafka stays in the .cpp.

#include "sources/kafka/check_message.hpp"
#include "sources/kafka/kafka_config.hpp"
#include "store/store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>

namespace compensatord::kafka {

// What a message may name, from the daemon config, with the limits of `config`.
MessageRules message_rules(const KafkaSourceConfig& config, std::set<std::string, std::less<>> kinds,
                           std::set<std::string, std::less<>> participants);

// A snapshot of the source's counters, for metrics.
struct KafkaSourceCounters {
  std::uint64_t ingested = 0;       // stored as a new transaction
  std::uint64_t duplicates = 0;     // the xid was already known (re-delivery or another source)
  std::uint64_t dead_lettered = 0;  // produced to the dead-letter topic
  std::uint64_t errors = 0;         // store, dead-letter, commit or consumer errors (retried)
  // Messages in assigned partitions after the committed offsets, from librdkafka's latest
  // statistics (statistics.interval.ms); 0 before the first report.
  std::int64_t consumer_lag = 0;
};

class KafkaSource {
 public:
  KafkaSource(KafkaSourceConfig config, MessageRules rules, store::IngestStore& store);
  ~KafkaSource();
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Consumes until `stop` is requested; never throws. Call from one thread only.
  void run(std::stop_token stop);

  // True while a broker answers; false before the first contact and while Kafka is unreachable.
  [[nodiscard]] bool connected() const { return connected_.load(); }
  [[nodiscard]] KafkaSourceCounters counters() const;

  // What later poll batches accept (a config reload changed the kinds or participants).
  void use_rules(MessageRules rules);

 private:
  struct Session;
  void run_session(std::stop_token stop);
  [[nodiscard]] std::shared_ptr<const MessageRules> rules() const;

  KafkaSourceConfig config_;
  mutable std::mutex rules_mutex_;
  std::shared_ptr<const MessageRules> rules_;
  store::IngestStore& store_;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> ingested_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> dead_lettered_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::int64_t> consumer_lag_{0};
};

}  // namespace compensatord::kafka
