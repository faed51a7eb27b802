// The first writer of an xid wins across sources (0006_ingest_conflicts.sql): a later ingest with
// other branches, from Kafka, a legacy log or begin_transaction, is refused and reported; the same
// branches in another order are a harmless repeat.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <future>
#include <mutex>

namespace compensatord::store::testing {
namespace {

class IngestConflictTest : public StoreTest {
 protected:
  // The SQLSTATE and message of a begin_transaction call that raised, or empty ones and the result.
  struct BeginOutcome {
    std::optional<bool> inserted;
    std::string sqlstate;
    std::string message;
  };

  BeginOutcome begin(const std::string& xid, const nlohmann::json& branches) {
    BeginOutcome outcome;
    try {
      pqxx::work work(connection_);
      outcome.inserted =
          work.exec_params1("SELECT compensatord.begin_transaction($1, 'order', $2::jsonb, '30 seconds')", xid,
                            branches.dump())[0]
              .as<bool>();
      work.commit();
    } catch (const pqxx::sql_error& e) {
      outcome.sqlstate = e.sqlstate();
      outcome.message = e.what();
    }
    return outcome;
  }

  static NewTransaction from_kafka(std::string xid, std::vector<NewBranch> branches) {
    auto txn = transaction(std::move(xid), Clock::now() - 1s, std::move(branches));
    txn.source = "kafka:orders";
    return txn;
  }

  // The participants of the recorded branches, in branch order.
  std::vector<std::string> participants(const std::string& xid) {
    std::vector<std::string> names;
    const auto recorded = store_.find(xid);
    for (const auto& branch : recorded->branches) names.push_back(branch.participant);
    return names;
  }

  long long count(const std::string& sql) {
    pqxx::nontransaction work(connection_);
    return work.exec1(sql)[0].as<long long>();
  }

  // A store whose refused ingests are counted by source, as the daemon's metric counts them.
  std::mutex reported_mutex_;
  std::vector<std::string> reported_;
  PgStore reporting_store_{db_.dsn(), PgStoreOptions{.pool_size = 4, .on_ingest_conflict = [this](auto source) {
                                                       std::lock_guard lock(reported_mutex_);
                                                       reported_.emplace_back(source);
                                                     }}};
};

const nlohmann::json kOrderBranches = nlohmann::json::parse(
    R"([{"participant": "stock", "fields": {"sku": "A-1", "qty": 2}}, {"participant": "coupon", "fields": {"coupon_id": "C-9"}}])");

// The issue's case: the check message came first with other branches. begin_transaction used to
// return false (as for a retry) and the message's branches were the ones compensated.
TEST_F(IngestConflictTest, BeginTransactionAfterAKafkaMessageWithOtherBranchesRaisesAndTheFirstWriterStands) {
  ASSERT_EQ(store_.ingest(from_kafka("ORD-1", {{"points", {{"n", 5}}}})), IngestResult::Inserted);
  const auto outcome = begin("ORD-1", kOrderBranches);
  EXPECT_FALSE(outcome.inserted.has_value()) << "begin_transaction must not report a retry";
  EXPECT_EQ(outcome.sqlstate, "CX001");
  EXPECT_NE(outcome.message.find("begin_transaction: xid ORD-1 is already recorded with other branches (by "
                                 "kafka:orders); the recorded ones stand"),
            std::string::npos)
      << outcome.message;
  EXPECT_EQ(participants("ORD-1"), std::vector<std::string>{"points"});
  EXPECT_EQ(store_.find("ORD-1")->source, "kafka:orders");
}

TEST_F(IngestConflictTest, TheSameBranchesInAnotherOrderAreARepeatFromEverySource) {
  // Kafka's list reversed, its fields' keys in another order and a number written differently.
  ASSERT_EQ(store_.ingest(
                from_kafka("ORD-1", {{"coupon", {{"coupon_id", "C-9"}}}, {"stock", {{"qty", 2.0}, {"sku", "A-1"}}}})),
            IngestResult::Inserted);
  const auto outcome = begin("ORD-1", kOrderBranches);
  EXPECT_EQ(outcome.inserted, false) << outcome.message;
  EXPECT_EQ(participants("ORD-1"), (std::vector<std::string>{"coupon", "stock"}));

  ASSERT_TRUE(begin("ORD-2", kOrderBranches).inserted.value_or(false));
  EXPECT_EQ(reporting_store_.ingest(
                from_kafka("ORD-2", {{"coupon", {{"coupon_id", "C-9"}}}, {"stock", {{"sku", "A-1"}, {"qty", 2}}}})),
            IngestResult::AlreadyKnown);
  // A fields object omitted by begin_transaction is the empty object a source sends.
  ASSERT_TRUE(begin("ORD-3", nlohmann::json::parse(R"([{"participant": "stock"}])")).inserted.value_or(false));
  EXPECT_EQ(reporting_store_.ingest(from_kafka("ORD-3", {{"stock", nlohmann::json::object()}})),
            IngestResult::AlreadyKnown);
  // No branches at all, twice, are the same too.
  ASSERT_EQ(reporting_store_.ingest(from_kafka("ORD-4", {})), IngestResult::Inserted);
  EXPECT_EQ(begin("ORD-4", nlohmann::json::array()).inserted, false);
  EXPECT_TRUE(reported_.empty());
}

TEST_F(IngestConflictTest, AKafkaOrLegacyIngestWithOtherBranchesIsRefusedReportedAndChangesNothing) {
  ASSERT_TRUE(begin("ORD-1", kOrderBranches).inserted.value_or(false));
  const auto before = store_.find("ORD-1");
  EXPECT_EQ(reporting_store_.ingest(
                from_kafka("ORD-1", {{"stock", {{"sku", "A-1"}, {"qty", 3}}}, {"coupon", {{"coupon_id", "C-9"}}}})),
            IngestResult::Conflict);
  auto legacy = transaction("ORD-1", Clock::now() + 1h, {{"stock", {{"sku", "A-1"}, {"qty", 2}}}});
  legacy.source = "legacy:shop";
  EXPECT_EQ(reporting_store_.ingest(legacy), IngestResult::Conflict);
  EXPECT_EQ(reported_, (std::vector<std::string>{"kafka:orders", "legacy:shop"}));
  const auto after = store_.find("ORD-1");
  EXPECT_EQ(after->source, "pending_log");
  EXPECT_EQ(after->due_at, before->due_at);
  EXPECT_EQ(participants("ORD-1"), (std::vector<std::string>{"stock", "coupon"}));
  EXPECT_EQ(after->branches[0].fields, (nlohmann::json{{"sku", "A-1"}, {"qty", 2}}));
}

// What counts as different: a nested value, a participant's case, a repeated branch, one more or
// one fewer branch, and a huge value that differs in its last byte.
TEST_F(IngestConflictTest, AnyDifferenceInTheBranchesIsAConflict) {
  const std::string huge(1 << 20, 'x');
  ASSERT_EQ(store_.ingest(transaction("ORD-1", Clock::now(),
                                      {{"stock", {{"sku", "A-1"}, {"meta", {{"lot", {1, 2}}}}, {"note", huge}}}})),
            IngestResult::Inserted);
  const std::vector<std::vector<NewBranch>> others{
      {{"stock", {{"sku", "A-1"}, {"meta", {{"lot", {2, 1}}}}, {"note", huge}}}},
      {{"Stock", {{"sku", "A-1"}, {"meta", {{"lot", {1, 2}}}}, {"note", huge}}}},
      {{"stock", {{"sku", "A-1"}, {"meta", {{"lot", {1, 2}}}}, {"note", huge + "y"}}}},
      {{"stock", {{"sku", "A-1"}, {"meta", {{"lot", {1, 2}}}}, {"note", huge}}},
       {"stock", {{"sku", "A-1"}, {"meta", {{"lot", {1, 2}}}}, {"note", huge}}}},
      {},
      {{"stock", {{"sku", "A-1"}, {"meta", {{"lot", {1, 2}}}}}}},
  };
  for (std::size_t i = 0; i < others.size(); ++i) {
    EXPECT_EQ(reporting_store_.ingest(from_kafka("ORD-1", others[i])), IngestResult::Conflict) << "variant " << i;
  }
  EXPECT_EQ(reported_.size(), others.size());
  EXPECT_EQ(count("SELECT count(*) FROM compensatord.branches"), 1);
}

TEST_F(IngestConflictTest, HostileXidsAndValuesAreComparedNotInterpreted) {
  const std::string xid = "ORD-'; DROP TABLE compensatord.branches; --\"\\ é 注文 🚀";
  const std::vector<NewBranch> branches{{"stock", {{"sku", "'); DELETE FROM compensatord.transactions; --"}}}};
  ASSERT_EQ(store_.ingest(from_kafka(xid, branches)), IngestResult::Inserted);
  EXPECT_EQ(reporting_store_.ingest(from_kafka(xid, branches)), IngestResult::AlreadyKnown);
  EXPECT_EQ(reporting_store_.ingest(from_kafka(xid, {{"stock", {{"sku", "%s%n\\x00"}}}})), IngestResult::Conflict);
  const auto outcome = begin(xid, nlohmann::json::parse(R"([{"participant": "stock", "fields": {"sku": "%"}}])"));
  EXPECT_EQ(outcome.sqlstate, "CX001") << outcome.message;
  EXPECT_EQ(count("SELECT count(*) FROM compensatord.transactions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM compensatord.branches"), 1);
}

TEST_F(IngestConflictTest, ABatchRefusesOnlyItsConflictingTransactions) {
  ASSERT_TRUE(begin("ORD-known", kOrderBranches).inserted.value_or(false));
  const auto same =
      from_kafka("ORD-known", {{"coupon", {{"coupon_id", "C-9"}}}, {"stock", {{"sku", "A-1"}, {"qty", 2}}}});
  const auto other = from_kafka("ORD-known", {{"points", {{"n", 1}}}});
  const auto fresh = from_kafka("ORD-new", {{"stock", {{"sku", "B-2"}}}});
  const auto fresh_again = from_kafka("ORD-new", {{"stock", {{"sku", "B-2"}}}});
  const auto fresh_other = from_kafka("ORD-new", {{"stock", {{"sku", "B-3"}}}});

  EXPECT_EQ(reporting_store_.ingest_batch({same, fresh, other, fresh_again, fresh_other}),
            (std::vector<IngestResult>{IngestResult::AlreadyKnown, IngestResult::Inserted, IngestResult::Conflict,
                                       IngestResult::AlreadyKnown, IngestResult::Conflict}));
  EXPECT_EQ(reported_, (std::vector<std::string>{"kafka:orders", "kafka:orders"}));
  EXPECT_EQ(participants("ORD-known"), (std::vector<std::string>{"stock", "coupon"}));
  EXPECT_EQ(store_.find("ORD-new")->branches.at(0).fields, (nlohmann::json{{"sku", "B-2"}}));
  // A batch of new transactions only is stored without the comparison, as before.
  EXPECT_EQ(reporting_store_.ingest_batch({from_kafka("ORD-a", {}), from_kafka("ORD-b", {})}),
            (std::vector<IngestResult>{IngestResult::Inserted, IngestResult::Inserted}));
  EXPECT_EQ(reported_.size(), 2u);
}

// begin_transaction and a Kafka ingest of one xid with other branches, at the same moment: one of
// them records it, the other is refused, and the branches are the winner's.
TEST_F(IngestConflictTest, RacingWritersWithOtherBranchesHaveExactlyOneWinner) {
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    const std::string xid = fmt::format("ORD-{}", round);
    pqxx::connection order_db(db_.dsn());
    std::promise<void> go;
    const auto start = go.get_future().share();
    auto begun = std::async(std::launch::async, [&] {
      start.wait();
      try {
        pqxx::work work(order_db);
        const bool inserted =
            work.exec_params1("SELECT compensatord.begin_transaction($1, 'order', $2::jsonb, '30 seconds')", xid,
                              kOrderBranches.dump())[0]
                .as<bool>();
        work.commit();
        return inserted ? std::string("inserted") : std::string("false");
      } catch (const pqxx::sql_error& e) {
        return e.sqlstate();
      }
    });
    auto ingested = std::async(std::launch::async, [&] {
      start.wait();
      return reporting_store_.ingest(from_kafka(xid, {{"points", {{"n", round}}}}));
    });
    go.set_value();
    const std::string begin_result = begun.get();
    const IngestResult ingest_result = ingested.get();
    if (begin_result == "inserted") {
      EXPECT_EQ(ingest_result, IngestResult::Conflict) << xid;
      EXPECT_EQ(participants(xid), (std::vector<std::string>{"stock", "coupon"})) << xid;
    } else {
      EXPECT_EQ(begin_result, "CX001") << xid;
      EXPECT_EQ(ingest_result, IngestResult::Inserted) << xid;
      EXPECT_EQ(participants(xid), std::vector<std::string>{"points"}) << xid;
    }
  }
}

}  // namespace
}  // namespace compensatord::store::testing
