// KafkaSource against the kafka-broker process and a real PostgreSQL: every message is stored
// once in effect, bad ones are dead-lettered without blocking, and offsets wait for the database.

#include "sources/kafka/kafka_source.hpp"
#include "kafka/consumer_faults.hpp"
#include "kafka/kafka_test_support.hpp"
#include "sources/kafka/kafka_counts.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <csignal>
#include <functional>
#include <memory>
#include <thread>

namespace compensatord::kafka {
namespace {

using namespace std::chrono_literals;
using compensatord::testing::BrokerProcess;
using compensatord::testing::ChildProcess;
using compensatord::testing::committed_offset;
using compensatord::testing::Outgoing;
using compensatord::testing::produce;
using compensatord::testing::produce_all;
using compensatord::testing::read_topic;

const std::string kGroup = "test-group";

std::string check_message(const std::string& xid, const std::string& participant = "stock") {
  return R"({"xid":")" + xid + R"(","kind":"order","branches":[{"participant":")" + participant +
         R"(","fields":{"sku":"A-1","qty":2}}]})";
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
  for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { store::migrate(db_.dsn()); }

  KafkaSourceConfig config() const {
    KafkaSourceConfig c;
    c.brokers = broker_.bootstrap();
    c.topics = {"checks"};
    c.dead_letter_topic = "checks-dlq";
    c.group_id = kGroup;
    c.poll_timeout = 100ms;
    c.max_message_bytes = 4096;
    // Short timeouts so a broker outage and a group rejoin take seconds, not a minute.
    c.librdkafka = {{"log_level", "3"},
                    {"reconnect.backoff.max.ms", "500"},
                    {"session.timeout.ms", "6000"},
                    {"heartbeat.interval.ms", "500"},
                    {"statistics.interval.ms", "100"}};
    return c;
  }

  // A KafkaSource on its own thread; the thread stops and joins before the source goes away.
  struct Running {
    KafkaCounts counts;
    std::unique_ptr<KafkaSource> source;
    std::jthread thread;
  };

  std::unique_ptr<Running> run_source() {
    auto c = config();
    auto running = std::make_unique<Running>();
    running->source =
        std::make_unique<KafkaSource>(c, message_rules(c, {"order"}, {"stock", "coupon"}), store_, running->counts);
    running->thread = std::jthread([source = running->source.get()](std::stop_token stop) { source->run(stop); });
    return running;
  }

  // Starts one KafkaSource that runs until the test ends.
  KafkaSource& start() {
    running_ = run_source();
    return *running_->source;
  }
  // What the source started by start() reported so far.
  KafkaTotals counts() const { return running_->counts.totals(); }

  long long stored() {
    long long total = 0;
    for (const auto& count : store_.count_by_status()) total += count.count;
    return total;
  }

  void send(const std::string& value, std::optional<std::string> key = std::nullopt) {
    ASSERT_EQ(produce(broker_.bootstrap(), Outgoing{"checks", std::move(key), value, {}, 0}), "");
  }

  std::optional<std::int64_t> committed(std::int32_t partition = 0) const {
    return committed_offset(broker_.bootstrap(), kGroup, "checks", partition);
  }

  // Every insert of a transaction fails until allow_inserts().
  void refuse_inserts() const {
    exec(
        "CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;"
        "CREATE TRIGGER refuse BEFORE INSERT ON compensatord.transactions "
        "FOR EACH ROW EXECUTE FUNCTION public.refuse();");
  }
  void allow_inserts() const { exec("DROP TRIGGER refuse ON compensatord.transactions"); }

  void exec(const std::string& sql) const {
    pqxx::connection connection(db_.dsn());
    pqxx::work work(connection);
    work.exec(sql);
    work.commit();
  }

  testing::WorkDir work_;
  BrokerProcess broker_{work_, {"checks:4", "checks-dlq"}};
  testing::TestDatabase db_;
  store::PgStore store_{db_.dsn()};
  std::unique_ptr<Running> running_;
};

TEST_F(KafkaSourceTest, SameMessageTwiceIsOneTransaction) {
  const auto sent = Clock::now();
  send(check_message("ORD-1"), "ORD-1");
  send(check_message("ORD-1"), "ORD-1");
  auto& source = start();
  ASSERT_TRUE(wait_until([&] { return committed() == 2; })) << "counters: " << counts().ingested;
  EXPECT_EQ(counts().ingested, 1);
  EXPECT_EQ(counts().duplicates, 1);
  EXPECT_TRUE(source.connected());

  auto txn = store_.find("ORD-1");
  ASSERT_TRUE(txn);
  EXPECT_EQ(txn->source, "kafka:checks");
  EXPECT_EQ(txn->kind, "order");
  ASSERT_EQ(txn->branches.size(), 1u);
  EXPECT_EQ(txn->branches[0].fields.at("qty"), 2);
  // Due one min_delay (default 1m) after the message's timestamp.
  EXPECT_GE(txn->due_at, sent + 1min - 1s);
  EXPECT_LE(txn->due_at, Clock::now() + 1min);
}

TEST_F(KafkaSourceTest, BadMessagesAreDeadLetteredAndThePartitionKeepsFlowing) {
  send("{not json");
  send(check_message("ORD-2", "points"), "ORD-2");
  send("{\"xid\": \"\xff\xfe\"}");
  send(std::string(10000, '['));
  send(check_message("ORD-3"), "ORD-3");
  start();
  ASSERT_TRUE(wait_until([&] { return committed() == 5; }));
  EXPECT_EQ(counts().dead_lettered, 4);
  EXPECT_EQ(counts().ingested, 1);
  EXPECT_TRUE(store_.find("ORD-3"));
  EXPECT_FALSE(store_.find("ORD-2"));

  auto letters = read_topic(broker_.bootstrap(), "checks-dlq", 4);
  ASSERT_EQ(letters.size(), 4u);
  EXPECT_EQ(letters[0].headers.at("reason"), "malformed_json");
  EXPECT_EQ(letters[0].value, "{not json");
  EXPECT_EQ(letters[0].headers.at("source_topic"), "checks");
  EXPECT_EQ(letters[0].headers.at("source_partition"), "0");
  EXPECT_EQ(letters[0].headers.at("source_offset"), "0");
  EXPECT_EQ(letters[1].headers.at("reason"), "unknown_participant:points");
  EXPECT_NE(letters[1].headers.at("error").find("points"), std::string::npos);
  EXPECT_EQ(letters[1].key, "ORD-2");
  EXPECT_EQ(letters[1].headers.at("source_offset"), "1");
  EXPECT_EQ(letters[2].headers.at("reason"), "invalid_utf8");
  EXPECT_EQ(letters[2].value, "{\"xid\": \"\xff\xfe\"}");
  // Larger than max_message_bytes: only the headers travel.
  EXPECT_EQ(letters[3].headers.at("reason"), "too_large");
  EXPECT_EQ(letters[3].headers.at("value_omitted"), "too_large");
  EXPECT_EQ(letters[3].value, "");
}

// A config reload that adds a participant: from the next poll batch on, its messages are stored
// instead of dead-lettered, without a new consumer session.
TEST_F(KafkaSourceTest, RulesSwappedByAReloadApplyToTheNextBatches) {
  auto& source = start();
  send(check_message("ORD-4", "points"), "ORD-4");
  ASSERT_TRUE(wait_until([&] { return committed() == 1; }));
  EXPECT_EQ(counts().dead_lettered, 1);

  source.use_rules(message_rules(config(), {"order"}, {"stock", "coupon", "points"}));
  send(check_message("ORD-5", "points"), "ORD-5");
  ASSERT_TRUE(wait_until([&] { return committed() == 2; }));
  EXPECT_EQ(counts().dead_lettered, 1);
  EXPECT_EQ(counts().ingested, 1);
  EXPECT_TRUE(store_.find("ORD-5"));
  EXPECT_FALSE(store_.find("ORD-4"));
}

TEST_F(KafkaSourceTest, OffsetWaitsForTheDatabaseAndTheMessageIsReadAgainAfterTheFix) {
  refuse_inserts();
  send(check_message("ORD-4"), "ORD-4");
  start();
  ASSERT_TRUE(wait_until([&] { return counts().errors >= 2; }));
  EXPECT_EQ(committed(), std::nullopt);
  EXPECT_FALSE(store_.find("ORD-4"));
  EXPECT_EQ(counts().ingested, 0);

  allow_inserts();
  ASSERT_TRUE(wait_until([&] { return committed() == 1; }, 40s));
  EXPECT_EQ(counts().ingested, 1);
  EXPECT_TRUE(store_.find("ORD-4"));
}

// A message with `count` stock branches.
std::string message_with_branches(const std::string& xid, std::size_t count) {
  std::string branches;
  for (std::size_t i = 0; i < count; ++i) branches += std::string(i == 0 ? "" : ",") + R"({"participant":"stock"})";
  return R"({"xid":")" + xid + R"(","kind":"order","branches":[)" + branches + "]}";
}

TEST_F(KafkaSourceTest, AMessageOverTheBranchCapIsDeadLetteredAndOneAtTheCapIsStored) {
  send(message_with_branches("ORD-64", kMaxBranches), "ORD-64");
  send(message_with_branches("ORD-65", kMaxBranches + 1), "ORD-65");
  send(check_message("ORD-66"), "ORD-66");
  start();
  ASSERT_TRUE(wait_until([&] { return committed() == 3; }));
  EXPECT_EQ(counts().ingested, 2);
  EXPECT_EQ(counts().dead_lettered, 1);
  EXPECT_EQ(counts().duplicates, 0);
  const auto at_cap = store_.find("ORD-64");
  ASSERT_TRUE(at_cap);
  EXPECT_EQ(at_cap->branches.size(), kMaxBranches);
  EXPECT_FALSE(store_.find("ORD-65"));
  EXPECT_TRUE(store_.find("ORD-66"));
  EXPECT_EQ(stored(), 2);

  auto letters = read_topic(broker_.bootstrap(), "checks-dlq", 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].key, "ORD-65");
  EXPECT_EQ(letters[0].headers.at("reason"), "too_many_branches");
  EXPECT_EQ(letters[0].headers.at("error"), "65 branches, more than the limit of 64 per transaction");
  EXPECT_EQ(letters[0].headers.at("source_offset"), "1");
}

// The order service began ORD-1 with a coupon branch; a check message names stock instead. The
// recorded transaction stands, the message is neither ingested nor a duplicate, and its offset is
// committed (reading it again would be refused again). Its same-branch twin is a duplicate.
TEST_F(KafkaSourceTest, AMessageWhoseXidIsRecordedWithOtherBranchesIsRefusedAndCommitted) {
  store::NewTransaction begun{
      "ORD-1", "order", "pending_log", {{"coupon", {{"sku", "A-1"}, {"qty", 2}}}}, Clock::now() + 1min};
  ASSERT_EQ(store_.ingest(begun), store::IngestResult::Inserted);
  send(check_message("ORD-1", "stock"), "ORD-1");
  send(check_message("ORD-1", "coupon"), "ORD-1");
  start();
  ASSERT_TRUE(wait_until([&] { return committed() == 2; }));
  EXPECT_EQ(counts().ingested, 0);
  EXPECT_EQ(counts().duplicates, 1);
  EXPECT_EQ(counts().dead_lettered, 0);
  const auto recorded = store_.find("ORD-1");
  EXPECT_EQ(recorded->source, "pending_log");
  ASSERT_EQ(recorded->branches.size(), 1u);
  EXPECT_EQ(recorded->branches[0].participant, "coupon");
}

TEST_F(KafkaSourceTest, ABatchIsStoredInOneGoWithDuplicatesAndBadMessagesCountedPerMessage) {
  // Several poll batches (commit_batch_size 100) on one partition, repeats within and across them.
  std::vector<Outgoing> messages;
  for (int i = 0; i < 250; ++i) {
    const std::string xid = "ORD-" + std::to_string(i % 200);
    messages.push_back(Outgoing{"checks", xid, i % 50 == 7 ? std::string("{not json") : check_message(xid), {}, 0});
  }
  ASSERT_EQ(produce_all(broker_.bootstrap(), messages), "");
  start();
  ASSERT_TRUE(wait_until([&] { return committed() == 250; }));
  const auto counters = counts();
  EXPECT_EQ(counters.dead_lettered, 5);  // i = 7, 57, 107, 157, 207
  EXPECT_EQ(counters.ingested, 196);     // ORD-0 .. ORD-199 less ORD-7, -57, -107, -157: only ever sent broken
  EXPECT_EQ(counters.duplicates, 49);    // i = 200 .. 249 repeat ORD-0 .. ORD-49, less the broken i = 207
  EXPECT_EQ(counters.errors, 0);
  EXPECT_EQ(stored(), 196);
  EXPECT_FALSE(store_.find("ORD-7"));
  EXPECT_FALSE(store_.find("ORD-157"));
  EXPECT_TRUE(store_.find("ORD-199"));
  EXPECT_EQ(read_topic(broker_.bootstrap(), "checks-dlq", 5).size(), 5u);
}

TEST_F(KafkaSourceTest, NothingIsDeadLetteredOrCommittedBeforeTheBatchIsStored) {
  refuse_inserts();
  // Produced together, so they travel in one record batch and are read in one poll batch.
  ASSERT_EQ(produce_all(broker_.bootstrap(), {Outgoing{"checks", std::nullopt, "{not json", {}, 0},
                                              Outgoing{"checks", "ORD-30", check_message("ORD-30"), {}, 0}}),
            "");
  start();
  ASSERT_TRUE(wait_until([&] { return counts().errors >= 2; }));
  // A batch read again may come apart: the malformed message alone in a batch of its own is then
  // dead-lettered and committed, rightly. The good message is never passed while it is not stored.
  const auto while_refused = committed();
  EXPECT_TRUE(!while_refused || *while_refused <= 1) << while_refused.value_or(-1);
  EXPECT_FALSE(store_.find("ORD-30"));
  EXPECT_LE(counts().dead_lettered, 1);

  allow_inserts();
  ASSERT_TRUE(wait_until([&] { return committed() == 2; }, 40s));
  EXPECT_EQ(counts().ingested, 1);
  EXPECT_EQ(counts().dead_lettered, 1);
  // Dead-lettered once, although the batch was read several times.
  EXPECT_EQ(read_topic(broker_.bootstrap(), "checks-dlq", 2, 2s).size(), 1u);
}

TEST_F(KafkaSourceTest, ConsumerLagIsWhatIsNotCommittedYet) {
  send(check_message("ORD-20"), "ORD-20");
  start();
  ASSERT_TRUE(wait_until([&] { return committed() == 1; }));
  ASSERT_TRUE(wait_until([&] { return counts().consumer_lag == 0; }));

  // The source is stuck on the next message: it and the ones after it stay uncommitted.
  refuse_inserts();
  send(check_message("ORD-21"), "ORD-21");
  send(check_message("ORD-22"), "ORD-22");
  send(check_message("ORD-23"), "ORD-23");
  ASSERT_TRUE(wait_until([&] { return counts().consumer_lag == 3; })) << "lag: " << counts().consumer_lag;
  EXPECT_EQ(committed(), 1);

  allow_inserts();
  ASSERT_TRUE(wait_until([&] { return committed() == 4 && counts().consumer_lag == 0; }))
      << "lag: " << counts().consumer_lag;
  EXPECT_EQ(counts().ingested, 4);
}

TEST_F(KafkaSourceTest, NotConnectedWhileTheBrokerIsDownAndEverythingArrivesAfter) {
  send(check_message("ORD-5"), "ORD-5");
  auto& source = start();
  ASSERT_TRUE(wait_until([&] { return committed() == 1; }));
  EXPECT_TRUE(source.connected());
  broker_.down();
  ASSERT_TRUE(wait_until([&] { return !source.connected(); }));
  broker_.up();
  send(check_message("ORD-6"), "ORD-6");
  ASSERT_TRUE(wait_until([&] { return source.connected() && committed() == 2; }, 40s));
  EXPECT_TRUE(store_.find("ORD-6"));
  EXPECT_EQ(counts().ingested, 2);
}

TEST_F(KafkaSourceTest, KilledBetweenTheDatabaseCommitAndTheOffsetCommitReadsTheMessageAgain) {
  send(check_message("ORD-7"), "ORD-7");
  const std::vector<std::string> runner{
      KAFKA_SOURCE_RUNNER_BIN, "--dsn",      db_.dsn(), "--brokers", broker_.bootstrap(), "--topic", "checks",
      "--dead-letter-topic",   "checks-dlq", "--group", kGroup};
  auto doomed_argv = runner;
  doomed_argv.insert(doomed_argv.end(), {"--die-after-storing", "ORD-7"});
  ChildProcess doomed(doomed_argv, work_.file("doomed.log"));
  ASSERT_EQ(doomed.wait_for(20s), 128 + SIGKILL) << doomed.log();
  auto stored_once = store_.find("ORD-7");
  ASSERT_TRUE(stored_once);
  EXPECT_EQ(committed(), std::nullopt);

  ChildProcess survivor(runner, work_.file("survivor.log"));
  ASSERT_TRUE(wait_until([&] { return committed() == 1; }, 40s)) << survivor.log();
  survivor.signal(SIGTERM);
  ASSERT_EQ(survivor.wait_for(20s), 0) << survivor.log();
  // Read again, found already stored, left exactly as it was.
  EXPECT_NE(survivor.log().find("ingested=0 duplicates=1 dead_lettered=0"), std::string::npos) << survivor.log();
  EXPECT_EQ(stored(), 1);
  auto after = store_.find("ORD-7");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->due_at, stored_once->due_at);
  EXPECT_EQ(after->status, stored_once->status);
}

TEST_F(KafkaSourceTest, TwoConsumersSplitThePartitionsAndOneTakesOverWithoutLoss) {
  auto a = run_source();
  auto b = run_source();
  ASSERT_TRUE(wait_until([&] { return a->source->connected() && b->source->connected(); }));
  // Let the group settle on two members before the first messages arrive.
  std::this_thread::sleep_for(3s);
  auto send_orders = [&](int from, int to) {
    std::vector<Outgoing> orders;
    for (int i = from; i < to; ++i) {
      const std::string xid = "ORD-" + std::to_string(i);
      orders.push_back(Outgoing{"checks", xid, check_message(xid), {}, -1});  // partitioned by key
    }
    ASSERT_EQ(produce_all(broker_.bootstrap(), orders), "");
  };
  send_orders(0, 40);
  ASSERT_TRUE(wait_until([&] { return stored() == 40; }));
  EXPECT_GT(a->counts.totals().ingested, 0);
  EXPECT_GT(b->counts.totals().ingested, 0);
  EXPECT_EQ(a->counts.totals().ingested + b->counts.totals().ingested, 40);

  a.reset();  // a leaves the group; b takes over every partition
  send_orders(40, 60);
  ASSERT_TRUE(wait_until([&] { return stored() == 60; }, 40s));
  for (int i = 0; i < 60; ++i) EXPECT_TRUE(store_.find("ORD-" + std::to_string(i))) << i;
}

TEST_F(KafkaSourceTest, AFailedSeekEndsTheSessionAndTheUnstoredMessageIsReadAgain) {
  refuse_inserts();
  send(check_message("ORD-40"), "ORD-40");
  testing::consumer_faults::fail_seeks(1);
  start();
  // The batch was not stored, and the seek back to it failed: reading on would skip ORD-40.
  ASSERT_TRUE(wait_until([&] { return testing::consumer_faults::failed_seeks() == 1; }));
  allow_inserts();
  send(check_message("ORD-41"), "ORD-41");
  ASSERT_TRUE(wait_until([&] { return committed() == 2; }, 40s));
  EXPECT_TRUE(store_.find("ORD-40")) << "the message before the failed seek was skipped";
  EXPECT_TRUE(store_.find("ORD-41"));
  EXPECT_EQ(counts().ingested, 2);
}

TEST_F(KafkaSourceTest, ARebalanceMidBatchLosesNothingAndLeavesRevokedMessagesToTheirNewOwner) {
  constexpr int kPartitions = 4;
  constexpr int kPerPartition = 10;
  std::vector<Outgoing> orders;
  for (int i = 0; i < kPartitions * kPerPartition; ++i) {
    const std::string xid = "ORD-" + std::to_string(i);
    orders.push_back(Outgoing{"checks", xid, check_message(xid), {}, i % kPartitions});
  }
  ASSERT_EQ(produce_all(broker_.bootstrap(), orders), "");

  // A reads the first message of its first batch and stops there, while B joins the group.
  testing::consumer_faults::hold_first_message();
  auto a = run_source();
  ASSERT_TRUE(wait_until([] { return testing::consumer_faults::holding(); }));
  auto b = run_source();
  ASSERT_TRUE(wait_until([&] { return b->source->connected(); }));
  std::this_thread::sleep_for(3s);  // a few heartbeats: the group is rebalancing
  testing::consumer_faults::release();

  ASSERT_TRUE(wait_until(
      [&] {
        for (int p = 0; p < kPartitions; ++p) {
          if (committed(p) != kPerPartition) return false;
        }
        return true;
      },
      40s));
  EXPECT_EQ(stored(), kPartitions * kPerPartition);
  for (const auto& order : orders) EXPECT_TRUE(store_.find(*order.key)) << *order.key;
  const auto in_a = a->counts.totals();
  const auto in_b = b->counts.totals();
  EXPECT_EQ(in_a.ingested + in_b.ingested, static_cast<long long>(kPartitions * kPerPartition));
  EXPECT_GT(in_b.ingested, 0);
  // The message A held was read before the rebalance: kept in A's batch, it was stored a second
  // time by whoever read its partition from the committed offset after the rebalance. A repeat is
  // still legitimate (and harmless) after an offset commit the rebalance refused: the stored
  // messages are read again, which only the errors counter tells.
  if (in_a.errors + in_b.errors == 0) {
    EXPECT_EQ(in_a.duplicates + in_b.duplicates, 0);
  }
}

}  // namespace
}  // namespace compensatord::kafka
