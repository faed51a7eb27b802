#include "sources/kafka/kafka_source.hpp"

#include "common/backoff.hpp"
#include "common/sleep.hpp"
#include "log/log.hpp"

#include <fmt/format.h>

#include <librdkafka/rdkafkacpp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace compensatord::kafka {
namespace {
constexpr log::Log kLog{"kafka"};

using std::chrono::milliseconds;
using Batch = std::vector<std::unique_ptr<RdKafka::Message>>;

// After a failed batch or session: 200 ms, doubling up to 30 s.
constexpr Backoff kBackoff{milliseconds(200), std::chrono::seconds(30)};
constexpr milliseconds kDeadLetterTimeout{std::chrono::seconds(5)};
constexpr milliseconds kSeekTimeout{std::chrono::seconds(5)};
constexpr milliseconds kMetadataTimeout{std::chrono::seconds(1)};
// Headers and framing of a dead letter on top of the largest value compensatord accepts.
constexpr std::size_t kDeadLetterOverhead = 64 * 1024;
constexpr std::size_t kLibrdkafkaDefaultMessageMax = 1'000'000;
// How often librdkafka reports statistics (consumer lag) unless the operator's settings say otherwise.
constexpr milliseconds kStatisticsInterval{std::chrono::seconds(5)};

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string error;
  if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK) {
    throw std::runtime_error(fmt::format("librdkafka setting {}: {}", key, error));
  }
}

// Defaults first, then the operator's pass-through settings, then what compensatord owns.
std::unique_ptr<RdKafka::Conf> make_conf(const KafkaSourceConfig& config, RdKafka::EventCb& events,
                                         const std::map<std::string, std::string>& defaults,
                                         const std::map<std::string, std::string>& owned) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [key, value] : defaults) set(*conf, key, value);
  for (const auto& [key, value] : config.librdkafka) set(*conf, key, value);
  set(*conf, "bootstrap.servers", config.brokers);
  for (const auto& [key, value] : owned) set(*conf, key, value);
  std::string error;
  if (conf->set("event_cb", &events, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  return conf;
}

// Whether a partition of the statistics is assigned to this consumer: revoked ones keep their last
// offsets in the statistics, and another group member counts their lag now.
bool assigned(const nlohmann::json& partition) {
  const auto state = partition.value("fetch_state", "none");
  return state != "none" && state != "stopping" && state != "stopped";
}

// The consumer's total lag in a librdkafka statistics document: the sum over its assigned
// partitions of consumer_lag, which is -1 where unknown (nothing committed yet). nullopt for the
// producer's statistics, which say nothing about lag.
std::optional<std::int64_t> consumer_lag(const std::string& statistics) {
  const auto stats = nlohmann::json::parse(statistics, nullptr, false);
  if (!stats.is_object() || stats.value("type", "") != "consumer") return std::nullopt;
  std::int64_t total = 0;
  for (const auto& topic : stats.value("topics", nlohmann::json::object())) {
    for (const auto& partition : topic.value("partitions", nlohmann::json::object())) {
      const auto lag = partition.value("consumer_lag", std::int64_t{-1});
      if (lag > 0 && assigned(partition)) total += lag;
    }
  }
  return total;
}

// librdkafka's logs, errors and statistics; "all brokers down" is what readiness reports.
class Events : public RdKafka::EventCb {
 public:
  Events(std::function<void()> brokers_down, sources::KafkaObserver& observer)
      : brokers_down_(std::move(brokers_down)), observer_(observer) {}

  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_STATS) {
      if (auto lag = consumer_lag(event.str())) observer_.kafka_consumer_lag(*lag);
    } else if (event.type() == RdKafka::Event::EVENT_ERROR) {
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) brokers_down_();
      kLog.warn("{}: {}", RdKafka::err2str(event.err()), event.str());
    } else if (event.type() == RdKafka::Event::EVENT_LOG) {
      const auto level = event.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR     ? log::Level::error
                         : event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING ? log::Level::warn
                                                                                      : log::Level::debug;
      kLog.log(level, {{"facility", event.fac()}}, "{}", event.str());
    }
  }

 private:
  std::function<void()> brokers_down_;
  sources::KafkaObserver& observer_;
};

// The outcome of the one dead letter in flight.
class DeliveryReport : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    error_ = message.err() == RdKafka::ERR_NO_ERROR ? "" : message.errstr();
    reported_ = true;
  }
  void reset() {
    reported_ = false;
    error_.clear();
  }
  [[nodiscard]] std::optional<std::string> failure() const {
    if (!reported_) return "no delivery report";
    if (!error_.empty()) return error_;
    return std::nullopt;
  }

 private:
  bool reported_ = false;
  std::string error_;
};

// Applies the group's partition assignments itself, to drop the messages of revoked partitions from
// the poll batch being read: their new owner reads them again from the committed offset, so storing
// and committing them here would mix partitions from before and after the rebalance in one batch.
// librdkafka calls it from within consume() (and close()), on the consuming thread.
class Rebalance : public RdKafka::RebalanceCb {
 public:
  explicit Rebalance(Batch& pending) : pending_(pending) {}

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    std::string error;
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      error = cooperative ? owned_error(consumer->incremental_assign(partitions))
                          : code_error(consumer->assign(partitions));
    } else {
      drop_revoked(partitions);
      error = cooperative ? owned_error(consumer->incremental_unassign(partitions)) : code_error(consumer->unassign());
    }
    // An exception must not cross librdkafka's C frames: the session ends at its next poll.
    if (!error.empty() && failure_.empty()) failure_ = fmt::format("applying a rebalance: {}", error);
  }

  // Why the consumer's assignment is now unknown, or "".
  [[nodiscard]] const std::string& failure() const { return failure_; }

 private:
  static std::string code_error(RdKafka::ErrorCode err) {
    return err == RdKafka::ERR_NO_ERROR ? "" : RdKafka::err2str(err);
  }
  static std::string owned_error(RdKafka::Error* raw) {
    std::unique_ptr<RdKafka::Error> error(raw);
    return error ? error->str() : "";
  }

  void drop_revoked(const std::vector<RdKafka::TopicPartition*>& partitions) {
    std::set<std::pair<std::string, std::int32_t>> revoked;
    for (const auto* tp : partitions) revoked.emplace(tp->topic(), tp->partition());
    const auto dropped = std::erase_if(pending_, [&](const auto& message) {
      return revoked.contains({message->topic_name(), message->partition()});
    });
    if (dropped > 0) {
      kLog.info("{} messages of {} revoked partitions left to their new owner", dropped, revoked.size());
    }
  }

  Batch& pending_;
  std::string failure_;
};

// Partition offsets as librdkafka takes them, freed when done.
class Offsets {
 public:
  Offsets() = default;
  Offsets(const Offsets&) = delete;
  Offsets& operator=(const Offsets&) = delete;
  ~Offsets() { RdKafka::TopicPartition::destroy(list_); }

  // Keeps the first offset given per partition unless `overwrite`.
  void set(const std::string& topic, std::int32_t partition, std::int64_t offset, bool overwrite) {
    for (auto* tp : list_) {
      if (tp->topic() == topic && tp->partition() == partition) {
        if (overwrite) tp->set_offset(offset);
        return;
      }
    }
    list_.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
  }
  [[nodiscard]] std::vector<RdKafka::TopicPartition*>& list() { return list_; }

 private:
  std::vector<RdKafka::TopicPartition*> list_;
};

// The record's timestamp as message_time() bounds it by the time it was read.
TimePoint timestamp_of(const RdKafka::Message& message, milliseconds max_clock_skew) {
  const auto ts = message.timestamp();
  std::optional<std::int64_t> produced;
  if (ts.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) produced = ts.timestamp;
  return message_time(produced, Clock::now(), max_clock_skew);
}

}  // namespace

MessageRules message_rules(const KafkaSourceConfig& config, std::set<std::string, std::less<>> kinds,
                           std::set<std::string, std::less<>> participants) {
  MessageRules rules;
  rules.kinds = std::move(kinds);
  rules.participants = std::move(participants);
  rules.min_delay = config.min_delay;
  rules.max_message_bytes = config.max_message_bytes;
  return rules;
}

// One consumer group membership with its dead-letter producer. Any librdkafka or store failure
// that cannot be handled in place ends the session; run() starts a new one after a backoff.
struct KafkaSource::Session {
  explicit Session(KafkaSource& source);
  ~Session() { consumer->close(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Batch poll_batch();
  bool joins_batch(const RdKafka::Message& message);
  bool handle_batch(const Batch& batch);  // false: a message must be retried after a backoff
  ParseResult parse(const RdKafka::Message& message, const MessageRules& rules) const;
  void store_all(std::vector<ParseResult>& parsed);
  bool dead_letter_all(const Batch& batch, const std::vector<ParseResult>& parsed);
  void dead_letter(RdKafka::Message& message, const Rejection& rejection);
  void commit(Offsets& offsets);
  void seek_back(const Batch& batch, std::size_t from);
  void check_connection();

  KafkaSource& source;
  Events events;
  DeliveryReport report;
  Batch pending;  // the poll batch being read; a rebalance drops its revoked partitions' messages
  Rebalance rebalance{pending};
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::unique_ptr<RdKafka::Producer> producer;
};

KafkaSource::Session::Session(KafkaSource& s) : source(s), events([&s] { s.set_connected(false); }, s.observer_) {
  const auto& config = source.config_;
  auto consumer_conf = make_conf(
      config, events,
      {{"auto.offset.reset", "earliest"}, {"statistics.interval.ms", std::to_string(kStatisticsInterval.count())}},
      {{"group.id", config.group_id}, {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}});
  std::size_t max_bytes = std::max(kLibrdkafkaDefaultMessageMax, config.max_message_bytes + kDeadLetterOverhead);
  auto producer_conf = make_conf(config, events, {{"acks", "all"}},
                                 {{"message.timeout.ms", std::to_string(kDeadLetterTimeout.count())},
                                  {"message.max.bytes", std::to_string(max_bytes)}});
  std::string error;
  if (consumer_conf->set("rebalance_cb", &rebalance, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  if (producer_conf->set("dr_cb", &report, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(error);
  consumer.reset(RdKafka::KafkaConsumer::create(consumer_conf.get(), error));
  if (!consumer) throw std::runtime_error(fmt::format("cannot create the Kafka consumer: {}", error));
  producer.reset(RdKafka::Producer::create(producer_conf.get(), error));
  if (!producer) throw std::runtime_error(fmt::format("cannot create the dead-letter producer: {}", error));
  if (auto err = consumer->subscribe(config.topics); err != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error(fmt::format("cannot subscribe: {}", RdKafka::err2str(err)));
  }
}

// Reads up to commit_batch_size messages into `pending`, waiting poll_timeout for the first.
Batch KafkaSource::Session::poll_batch() {
  pending.clear();
  const auto wait = static_cast<int>(source.config_.poll_timeout.count());
  while (pending.size() < static_cast<std::size_t>(source.config_.commit_batch_size)) {
    std::unique_ptr<RdKafka::Message> message(consumer->consume(pending.empty() ? wait : 0));
    if (!joins_batch(*message)) break;
    pending.push_back(std::move(message));
  }
  return std::exchange(pending, {});
}

// Whether `message`, just consumed (a rebalance may have run inside consume()), joins the batch.
bool KafkaSource::Session::joins_batch(const RdKafka::Message& message) {
  if (!rebalance.failure().empty()) throw std::runtime_error(rebalance.failure());
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    source.set_connected(true);
    return true;
  }
  if (message.err() != RdKafka::ERR__TIMED_OUT && message.err() != RdKafka::ERR__PARTITION_EOF) {
    source.observer_.kafka_error();
    kLog.warn("consume: {}", message.errstr());
  }
  return false;
}

// The batch's transactions go to PostgreSQL first, in one database transaction, then its bad
// messages to the dead-letter topic, then the offsets: nothing is acknowledged before it is
// durable. A failed store retries the whole batch; a failed dead letter retries from that message
// (the transactions after it, already stored, come back as duplicates).
bool KafkaSource::Session::handle_batch(const Batch& batch) {
  if (batch.empty()) return true;
  std::vector<ParseResult> parsed;
  parsed.reserve(batch.size());
  const auto rules = source.rules();  // one batch, one set of rules, whatever a reload does meanwhile
  for (const auto& message : batch) parsed.push_back(parse(*message, *rules));
  try {
    store_all(parsed);
  } catch (const std::exception& e) {
    source.observer_.kafka_error();
    kLog.warn({{"topic", batch.front()->topic_name()},
               {"partition", batch.front()->partition()},
               {"offset", batch.front()->offset()}},
              "a batch of {} messages not stored, will retry: {}", batch.size(), e.what());
    seek_back(batch, 0);
    return false;
  }
  return dead_letter_all(batch, parsed);
}

ParseResult KafkaSource::Session::parse(const RdKafka::Message& message, const MessageRules& rules) const {
  const std::string topic = message.topic_name();
  std::optional<std::string_view> key;
  if (const std::string* k = message.key()) key = *k;
  const std::string_view payload(static_cast<const char*>(message.payload()), message.len());
  return parse_check_message(CheckMessage{topic, key, payload, timestamp_of(message, source.config_.max_clock_skew)},
                             rules);
}

// One multi-row upsert for every transaction of the batch, each message counted as ingested or
// duplicate; one refused as a conflict (its xid recorded with other branches) is counted and logged
// by the store (compensatord_ingest_conflicts_total), and its offset committed like any handled
// message's: redelivering it would be refused again. The transactions are moved out of `parsed`,
// which keeps the rejections.
void KafkaSource::Session::store_all(std::vector<ParseResult>& parsed) {
  std::vector<store::NewTransaction> txns;
  for (auto& result : parsed) {
    if (auto* txn = std::get_if<store::NewTransaction>(&result)) txns.push_back(std::move(*txn));
  }
  if (txns.empty()) return;
  long long ingested = 0;
  long long duplicates = 0;
  for (const auto result : source.store_.ingest_batch(txns)) {
    if (result == store::IngestResult::Inserted) {
      ++ingested;
    } else if (result == store::IngestResult::AlreadyKnown) {
      ++duplicates;
    }
  }
  source.observer_.kafka_messages(sources::MessageOutcome::Ingested, ingested);
  source.observer_.kafka_messages(sources::MessageOutcome::Duplicate, duplicates);
}

// Dead-letters the batch's rejections in order and commits the offsets of what is handled.
bool KafkaSource::Session::dead_letter_all(const Batch& batch, const std::vector<ParseResult>& parsed) {
  Offsets done;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    RdKafka::Message& message = *batch[i];
    if (const auto* rejection = std::get_if<Rejection>(&parsed[i])) {
      try {
        dead_letter(message, *rejection);
      } catch (const std::exception& e) {
        source.observer_.kafka_error();
        kLog.warn({{"topic", message.topic_name()}, {"partition", message.partition()}, {"offset", message.offset()}},
                  "not dead-lettered, will retry: {}", e.what());
        commit(done);
        seek_back(batch, i);
        return false;
      }
      source.observer_.kafka_messages(sources::MessageOutcome::DeadLettered, 1);
      kLog.info({{"topic", message.topic_name()}, {"partition", message.partition()}, {"offset", message.offset()}},
                "dead-lettered: {}", rejection->reason);
    }
    done.set(message.topic_name(), message.partition(), message.offset() + 1, true);
  }
  commit(done);
  return true;
}

void KafkaSource::Session::dead_letter(RdKafka::Message& message, const Rejection& rejection) {
  std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
  headers->add("reason", rejection.reason);
  headers->add("error", rejection.error);
  headers->add("source_topic", message.topic_name());
  headers->add("source_partition", std::to_string(message.partition()));
  headers->add("source_offset", std::to_string(message.offset()));
  // An oversized value could be too large for the dead-letter topic too; the headers say where it is.
  bool keep_value = message.len() <= source.config_.max_message_bytes;
  if (!keep_value) headers->add("value_omitted", "too_large");
  const std::string* key = message.key();
  report.reset();
  auto err =
      producer->produce(source.config_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                        keep_value ? message.payload() : nullptr, keep_value ? message.len() : 0,
                        key ? key->data() : nullptr, key ? key->size() : 0, 0, headers.get(), nullptr);
  if (err != RdKafka::ERR_NO_ERROR) throw std::runtime_error(fmt::format("dead letter: {}", RdKafka::err2str(err)));
  headers.release();  // the producer owns them once produce() succeeded
  producer->flush(static_cast<int>((kDeadLetterTimeout + kDeadLetterTimeout).count()));
  if (auto failure = report.failure()) throw std::runtime_error(fmt::format("dead letter: {}", *failure));
}

void KafkaSource::Session::commit(Offsets& offsets) {
  if (offsets.list().empty()) return;
  if (auto err = consumer->commitSync(offsets.list()); err != RdKafka::ERR_NO_ERROR) {
    // The messages are stored: a later reader repeats them harmlessly (ingestion is idempotent).
    source.observer_.kafka_error();
    kLog.warn("offset commit failed: {}", RdKafka::err2str(err));
  }
}

// Rewinds every partition of the batch to its first message not yet handled. Throws when a seek
// fails: reading on would pass messages never stored, and the next commit would skip them, so the
// session ends instead and the next one starts from the committed offsets.
void KafkaSource::Session::seek_back(const Batch& batch, std::size_t from) {
  Offsets first;
  for (std::size_t i = from; i < batch.size(); ++i) {
    first.set(batch[i]->topic_name(), batch[i]->partition(), batch[i]->offset(), false);
  }
  for (auto* tp : first.list()) {
    if (auto err = consumer->seek(*tp, static_cast<int>(kSeekTimeout.count())); err != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error(fmt::format("seek {} [{}] back to {} failed, restarting from the committed offsets: {}",
                                           tp->topic(), tp->partition(), tp->offset(), RdKafka::err2str(err)));
    }
  }
}

void KafkaSource::Session::check_connection() {
  RdKafka::Metadata* raw = nullptr;
  auto err = consumer->metadata(false, nullptr, &raw, static_cast<int>(kMetadataTimeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err == RdKafka::ERR_NO_ERROR) source.set_connected(true);
}

KafkaSource::KafkaSource(KafkaSourceConfig config, MessageRules rules, store::IngestStore& store,
                         sources::KafkaObserver& observer)
    : config_(std::move(config)),
      rules_(std::make_shared<const MessageRules>(std::move(rules))),
      store_(store),
      observer_(observer) {}

void KafkaSource::use_rules(MessageRules rules) {
  auto next = std::make_shared<const MessageRules>(std::move(rules));
  std::lock_guard lock(rules_mutex_);
  rules_.swap(next);
}

std::shared_ptr<const MessageRules> KafkaSource::rules() const {
  std::lock_guard lock(rules_mutex_);
  return rules_;
}

KafkaSource::~KafkaSource() = default;

// Reports a change only: the flag is set on every message consumed, so an unchanged flag returns
// before the lock (only a change, written under it, can make the flag and the gauge disagree).
void KafkaSource::set_connected(bool connected) {
  if (connected_.load() == connected) return;
  std::lock_guard lock(connected_mutex_);
  if (connected_.exchange(connected) != connected) observer_.kafka_connected(connected);
}

void KafkaSource::run_session(std::stop_token stop) {
  Session session(*this);
  session.check_connection();
  int failures = 0;
  while (!stop.stop_requested()) {
    Batch batch = session.poll_batch();
    if (!connected_) session.check_connection();
    if (session.handle_batch(batch)) {
      failures = 0;
    } else {
      sleep_for(stop, kBackoff.after(++failures));
    }
  }
}

void KafkaSource::run(std::stop_token stop) {
  int failures = 0;
  while (!stop.stop_requested()) {
    try {
      run_session(stop);
    } catch (const std::exception& e) {
      observer_.kafka_error();
      // A session that had reached Kafka was healthy: its failure starts a fresh backoff.
      if (connected_) failures = 0;
      set_connected(false);
      const milliseconds backoff = kBackoff.after(++failures);
      kLog.error("consumer stopped, restarting in {} ms: {}", backoff.count(), e.what());
      sleep_for(stop, backoff);
    }
  }
  set_connected(false);
}

}  // namespace compensatord::kafka
