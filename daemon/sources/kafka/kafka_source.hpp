#pragma once
// KafkaSource: reads delayed check messages in a consumer group and stores each one as a
// transaction, a poll batch at a time in one database transaction (IngestStore::ingest_batch),
// committing offsets only after the database commit (docs/design.md, "Durable before acknowledged"). Bad messages go to
// the dead-letter topic and the partition moves on. librdkafka stays in the .cpp.

#include "sources/kafka/check_message.hpp"
#include "sources/kafka/kafka_config.hpp"
#include "sources/source_observer.hpp"
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

class KafkaSource {
 public:
  // Reports what becomes of the messages, and the consumer's state, to `observer`.
  KafkaSource(KafkaSourceConfig config, MessageRules rules, store::IngestStore& store,
              sources::KafkaObserver& observer);
  ~KafkaSource();
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Consumes until `stop` is requested; never throws. Call from one thread only.
  void run(std::stop_token stop);

  // True while a broker answers; false before the first contact and while Kafka is unreachable.
  [[nodiscard]] bool connected() const { return connected_.load(); }

  // What later poll batches accept (a config reload changed the kinds or participants).
  void use_rules(MessageRules rules);

 private:
  struct Session;
  void run_session(std::stop_token stop);
  void set_connected(bool connected);
  [[nodiscard]] std::shared_ptr<const MessageRules> rules() const;

  KafkaSourceConfig config_;
  mutable std::mutex rules_mutex_;
  std::shared_ptr<const MessageRules> rules_;
  store::IngestStore& store_;
  sources::KafkaObserver& observer_;
  // Changes of connected_ and their reports to the observer happen in one order: librdkafka's
  // callbacks and the session thread may flip it at once, and the gauge must end as the flag does.
  std::mutex connected_mutex_;
  std::atomic<bool> connected_{false};
};

}  // namespace compensatord::kafka
