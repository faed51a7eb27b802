// kafka-source-runner: a KafkaSource in its own process, for tests that kill it. With
// --die-after-storing XID it SIGKILLs itself right after XID is committed to PostgreSQL, before
// the offset commit: the crash window that "durable before acknowledged" must survive.
// SIGTERM stops it cleanly; it then prints its counters.

#include "sources/kafka/kafka_counts.hpp"
#include "sources/kafka/kafka_source.hpp"
#include "store/pg_store.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <string>
#include <thread>

#include <unistd.h>

namespace compensatord::kafka {
namespace {

// Delegates to the real store; dies right after the named xid is durably stored (alone or in a batch).
class DyingStore final : public store::IngestStore {
 public:
  DyingStore(store::IngestStore& inner, std::string doomed_xid) : inner_(inner), doomed_xid_(std::move(doomed_xid)) {}

  store::IngestResult ingest(const store::NewTransaction& txn) override {
    auto result = inner_.ingest(txn);
    if (txn.xid == doomed_xid_) ::kill(::getpid(), SIGKILL);
    return result;
  }
  std::vector<store::IngestResult> ingest_batch(const std::vector<store::NewTransaction>& txns) override {
    auto results = inner_.ingest_batch(txns);
    for (const auto& txn : txns) {
      if (txn.xid == doomed_xid_) ::kill(::getpid(), SIGKILL);
    }
    return results;
  }

 private:
  store::IngestStore& inner_;
  std::string doomed_xid_;
};

int run(const KafkaSourceConfig& config, const std::string& dsn, const std::string& doomed_xid) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts

  store::PgStore pg(dsn);
  DyingStore store(pg, doomed_xid);
  KafkaCounts counts;
  KafkaSource source(config, message_rules(config, {"order"}, {"stock", "coupon"}), store, counts);
  std::jthread consumer([&source](std::stop_token stop) { source.run(stop); });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  consumer.request_stop();
  consumer.join();
  const auto c = counts.totals();
  std::cout << "ingested=" << c.ingested << " duplicates=" << c.duplicates << " dead_lettered=" << c.dead_lettered
            << " errors=" << c.errors << std::endl;
  return 0;
}

}  // namespace
}  // namespace compensatord::kafka

int main(int argc, char** argv) {
  CLI::App app{"Runs a KafkaSource (kinds: order; participants: stock, coupon) until SIGTERM"};
  compensatord::kafka::KafkaSourceConfig config;
  std::string dsn;
  std::string doomed_xid;
  app.add_option("--dsn", dsn)->required();
  app.add_option("--brokers", config.brokers)->required();
  app.add_option("--topic", config.topics)->required();
  app.add_option("--dead-letter-topic", config.dead_letter_topic)->required();
  app.add_option("--group", config.group_id);
  app.add_option("--die-after-storing", doomed_xid, "SIGKILL itself right after storing this xid");
  CLI11_PARSE(app, argc, argv);
  config.poll_timeout = std::chrono::milliseconds(100);
  // A killed member's partitions return to the group after the session timeout: keep it short.
  config.librdkafka = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
  return compensatord::kafka::run(config, dsn, doomed_xid);
}
