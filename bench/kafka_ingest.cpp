// Kafka ingest throughput: how many delayed check messages a KafkaSource stores per second,
// from the embedded broker (kafka-broker) into PostgreSQL. bench/kafka_ingest.sh runs it.
//
//   kafka_ingest --dsn DSN --brokers B [--topic T] --produce 200000   # fills the topic once
//   kafka_ingest --dsn DSN --brokers B [--topic T] --expect 200000 --mode batch|one-by-one
//
// A consuming run truncates compensatord's tables, reads the whole topic with a fresh consumer
// group and stops when every message is a row. Mode "batch" is KafkaSource as built (one
// multi-row upsert per poll batch); "one-by-one" gives it a store whose ingest_batch is the
// Store default, one PgStore::ingest (one database transaction) per message: the ingest path
// before batching, with everything else the same.

#include "sources/kafka/kafka_counts.hpp"
#include "sources/kafka/kafka_source.hpp"
#include "store/pg_store.hpp"

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>
#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using compensatord::store::PgStore;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStallTimeout = 60s;

// PgStore with the IngestStore interface's default ingest_batch: one database transaction per message.
class OneByOneStore final : public compensatord::store::IngestStore {
 public:
  explicit OneByOneStore(PgStore& inner) : inner_(inner) {}
  compensatord::store::IngestResult ingest(const compensatord::store::NewTransaction& txn) override {
    return inner_.ingest(txn);
  }

 private:
  PgStore& inner_;
};

std::string check_message(const std::string& xid) {
  return fmt::format(
      R"({{"xid":"{}","kind":"order","branches":[{{"participant":"stock","fields":{{"sku":"A-1","qty":2}}}},)"
      R"({{"participant":"coupon","fields":{{"coupon_id":"C-9"}}}}]}})",
      xid);
}

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string error;
  if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK) throw std::runtime_error(key + ": " + error);
}

// Produces `count` messages keyed by xid (spread over the partitions) and waits for every delivery.
void produce(const std::string& brokers, const std::string& topic, long long count) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  set(*conf, "bootstrap.servers", brokers);
  set(*conf, "log_level", "3");
  set(*conf, "linger.ms", "20");
  set(*conf, "queue.buffering.max.messages", "1000000");
  std::string error;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), error));
  if (!producer) throw std::runtime_error("producer: " + error);
  for (long long i = 0; i < count; ++i) {
    const std::string xid = fmt::format("ORD-{}", i);
    const std::string value = check_message(xid);
    for (;;) {
      auto err = producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                   const_cast<char*>(value.data()), value.size(), xid.data(), xid.size(), 0, nullptr);
      if (err == RdKafka::ERR_NO_ERROR) break;
      if (err != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce: " + RdKafka::err2str(err));
      producer->poll(100);
    }
    producer->poll(0);
  }
  if (producer->flush(120'000) != RdKafka::ERR_NO_ERROR || producer->outq_len() != 0) {
    throw std::runtime_error("produce: not every message was delivered");
  }
}

void truncate(const std::string& dsn) {
  pqxx::connection connection(dsn);
  pqxx::work work(connection);
  work.exec0("TRUNCATE compensatord.transactions CASCADE");
  work.commit();
}

long long rows(const std::string& dsn) {
  pqxx::connection connection(dsn);
  pqxx::read_transaction work(connection);
  return work.exec1("SELECT count(*) FROM compensatord.transactions")[0].as<long long>();
}

struct Options {
  std::string dsn;
  std::string brokers;
  std::string topic = "checks";
  std::string mode = "batch";
  long long expect = 0;
  int batch = 100;
};

int consume(const Options& options) {
  PgStore pg(options.dsn, {.pool_size = 2});
  pg.migrate();
  truncate(options.dsn);
  OneByOneStore one_by_one(pg);
  compensatord::store::IngestStore& store =
      options.mode == "batch" ? static_cast<compensatord::store::IngestStore&>(pg) : one_by_one;

  compensatord::kafka::KafkaSourceConfig config;
  config.brokers = options.brokers;
  config.topics = {options.topic};
  config.dead_letter_topic = options.topic + "-dlq";
  config.group_id = fmt::format("bench-{}-{}", options.mode, SteadyClock::now().time_since_epoch().count());
  config.poll_timeout = 100ms;
  config.commit_batch_size = options.batch;
  config.librdkafka = {{"log_level", "3"}};
  compensatord::kafka::KafkaCounts counts;
  compensatord::kafka::KafkaSource source(
      config, compensatord::kafka::message_rules(config, {"order"}, {"stock", "coupon"}), store, counts);

  const auto started = SteadyClock::now();
  std::optional<SteadyClock::time_point> first_row;
  std::jthread consumer([&source](std::stop_token stop) { source.run(stop); });
  long long last_count = 0;
  auto last_progress = started;
  for (;;) {
    const auto counters = counts.totals();
    const auto now = SteadyClock::now();
    if (!first_row && counters.ingested > 0) first_row = now;
    if (counters.ingested >= options.expect) break;
    if (counters.ingested != last_count) {
      last_count = counters.ingested;
      last_progress = now;
    }
    // The embedded broker drops a partition's oldest messages past about 5 MB: those never come.
    if (counters.dead_lettered > 0 || now - last_progress > kStallTimeout) {
      fmt::print(stderr, "kafka_ingest: stuck at {} of {} ({} dead-lettered)\n", counters.ingested, options.expect,
                 counters.dead_lettered);
      return 1;
    }
    std::this_thread::sleep_for(1ms);
  }
  const auto finished = SteadyClock::now();
  consumer.request_stop();
  consumer.join();
  const long long stored = rows(options.dsn);
  if (stored != options.expect) {
    fmt::print(stderr, "kafka_ingest: {} rows, expected {}\n", stored, options.expect);
    return 1;
  }
  const double total = std::chrono::duration<double>(finished - started).count();
  const double from_first = std::chrono::duration<double>(finished - *first_row).count();
  fmt::print("mode={} messages={} batch={} seconds_total={:.2f} seconds_from_first_row={:.2f} msg_per_s={:.0f}\n",
             options.mode, options.expect, options.batch, total, from_first,
             static_cast<double>(options.expect) / from_first);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka ingest throughput of KafkaSource, embedded broker to PostgreSQL."};
  Options options;
  long long produce_count = 0;
  app.add_option("--dsn", options.dsn, "PostgreSQL DSN (its compensatord tables are truncated!)")->required();
  app.add_option("--brokers", options.brokers, "bootstrap servers of the broker")->required();
  app.add_option("--topic", options.topic, "topic to read (and fill)")->capture_default_str();
  app.add_option("--produce", produce_count, "produce this many messages to the topic, then exit");
  app.add_option("--expect", options.expect, "messages in the topic: consume until all are rows");
  app.add_option("--mode", options.mode, "batch or one-by-one")
      ->check(CLI::IsMember({"batch", "one-by-one"}))
      ->capture_default_str();
  app.add_option("--batch", options.batch, "commit_batch_size")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (produce_count > 0) {
      const auto started = SteadyClock::now();
      produce(options.brokers, options.topic, produce_count);
      fmt::print("produced={} seconds={:.2f}\n", produce_count,
                 std::chrono::duration<double>(SteadyClock::now() - started).count());
      return 0;
    }
    if (options.expect < 1) {
      fmt::print(stderr, "kafka_ingest: give --produce N or --expect N\n");
      return 2;
    }
    return consume(options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "kafka_ingest: {}\n", e.what());
    return 1;
  }
}
