// The pending-log contract (docs/integration-contract.md): the SQL functions the order service calls.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <future>

namespace compensatord::store::testing {
namespace {

class PendingLogTest : public StoreTest {
 protected:
  bool begin(const std::string& xid,
             const std::string& branches = R"([{"participant":"stock","fields":{"sku":"A-1"}}])",
             const std::string& timeout = "30 seconds") {
    pqxx::work work(connection_);
    const bool inserted =
        work.exec_params1("SELECT compensatord.begin_transaction($1, 'order', $2::jsonb, $3::interval)", xid, branches,
                          timeout)[0]
            .as<bool>();
    work.commit();
    return inserted;
  }

  // The error message of a begin_transaction call that must fail.
  std::string begin_error(const std::string& call) {
    try {
      pqxx::work work(connection_);
      work.exec(call);
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected an error from " << call;
    return {};
  }

  static bool commit(pqxx::connection& connection, const std::string& xid) {
    pqxx::work work(connection);
    const bool committed = work.exec_params1("SELECT compensatord.commit_transaction($1)", xid)[0].as<bool>();
    work.commit();
    return committed;
  }
};

TEST_F(PendingLogTest, BeginInsertsAPendingTransactionWithItsBranchesDueAfterTheTimeout) {
  EXPECT_TRUE(begin("ORD-1", R"([{"participant":"stock","fields":{"sku":"A-1","qty":2}},{"participant":"coupon"}])",
                    "45 seconds"));
  const auto t = store_.find("ORD-1");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->status, Status::Pending);
  EXPECT_EQ(t->source, "pending_log");
  EXPECT_EQ(t->kind, "order");
  EXPECT_FALSE(t->decision.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(t->due_at - t->created_at).count(), 45.0, 0.01);
  EXPECT_EQ(t->next_attempt_at, t->due_at);
  ASSERT_EQ(t->branches.size(), 2u);
  EXPECT_EQ(t->branches[0].participant, "stock");
  EXPECT_EQ(t->branches[0].fields, (nlohmann::json{{"sku", "A-1"}, {"qty", 2}}));
  EXPECT_EQ(t->branches[1].participant, "coupon");
  EXPECT_EQ(t->branches[1].fields, nlohmann::json::object());
  EXPECT_EQ(store_.count_due(), 0);
}

TEST_F(PendingLogTest, BeginIsIdempotentAndASecondCallChangesNothing) {
  EXPECT_TRUE(begin("ORD-1"));
  const auto first = store_.find("ORD-1");
  // A retry with the same branches and another timeout (other branches raise: ingest_conflict_test.cpp).
  EXPECT_FALSE(begin("ORD-1", R"([{"participant":"stock","fields":{"sku":"A-1"}}])", "1 hour"));
  const auto second = store_.find("ORD-1");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->due_at, first->due_at);
  ASSERT_EQ(second->branches.size(), 1u);
  EXPECT_EQ(second->branches[0].participant, "stock");
}

TEST_F(PendingLogTest, BeginRejectsMalformedArgumentsNamingTheParameter) {
  const auto call = [](const std::string& args) { return "SELECT compensatord.begin_transaction(" + args + ")"; };
  EXPECT_NE(begin_error(call("NULL, 'order', '[]', '1 minute'")).find("p_xid"), std::string::npos);
  EXPECT_NE(begin_error(call("'', 'order', '[]', '1 minute'")).find("p_xid"), std::string::npos);
  EXPECT_NE(begin_error(call("repeat('x', 257), 'order', '[]', '1 minute'")).find("p_xid"), std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '[]', NULL")).find("p_timeout"), std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '[]', '-1 second'")).find("p_timeout"), std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', NULL, '1 minute'")).find("p_branches"), std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '{\"participant\":\"stock\"}', '1 minute'")).find("p_branches"),
            std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '[\"stock\"]', '1 minute'")).find("p_branches"), std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '[{\"fields\":{}}]', '1 minute'")).find("p_branches"), std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '[{\"participant\":\"\"}]', '1 minute'")).find("p_branches"),
            std::string::npos);
  EXPECT_NE(begin_error(call("'X', 'order', '[{\"participant\":7}]', '1 minute'")).find("p_branches"),
            std::string::npos);
  EXPECT_NE(
      begin_error(call("'X', 'order', '[{\"participant\":\"s\",\"fields\":[1]}]', '1 minute'")).find("p_branches"),
      std::string::npos);
  EXPECT_FALSE(store_.find("X").has_value());
}

// `count` branches p0, p1, ... as begin_transaction takes them.
std::string numbered_branches(std::size_t count) {
  nlohmann::json branches = nlohmann::json::array();
  for (std::size_t i = 0; i < count; ++i) {
    branches.push_back({{"participant", fmt::format("p{}", i)}, {"fields", {{"n", i}}}});
  }
  return branches.dump();
}

TEST_F(PendingLogTest, BeginAcceptsHostileButValidValuesAndAsManyBranchesAsTheCap) {
  const std::string xid = "ORD-'; DROP TABLE compensatord.transactions; --\"\\ é 注文 🚀";
  EXPECT_TRUE(begin(xid, numbered_branches(kMaxBranches)));
  const auto t = store_.find(xid);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->xid, xid);
  ASSERT_EQ(t->branches.size(), kMaxBranches);
  EXPECT_EQ(t->branches[kMaxBranches - 1].fields["n"], kMaxBranches - 1);
}

TEST_F(PendingLogTest, BeginRefusesOneBranchOverTheCapNamingTheLimitAndTheCount) {
  const auto over = numbered_branches(kMaxBranches + 1);
  std::string sqlstate;
  std::string message;
  try {
    pqxx::work work(connection_);
    work.exec_params("SELECT compensatord.begin_transaction('ORD-65', 'order', $1::jsonb, '30 seconds')", over);
    ADD_FAILURE() << "65 branches were accepted";
  } catch (const pqxx::sql_error& e) {
    sqlstate = e.sqlstate();
    message = e.what();
  }
  EXPECT_EQ(sqlstate, "22023");  // invalid_parameter_value
  EXPECT_NE(message.find("begin_transaction: 65 branches, more than the limit of 64 per transaction"),
            std::string::npos)
      << message;
  EXPECT_FALSE(store_.find("ORD-65").has_value());
  EXPECT_EQ(row("SELECT count(*) FROM compensatord.branches WHERE xid = $1", "ORD-65")[0].as<int>(), 0);
  // A huge array is refused by its length, before its elements are looked at.
  EXPECT_NE(begin_error("SELECT compensatord.begin_transaction('ORD-X', 'order', '" + numbered_branches(5000) +
                        "'::jsonb, '30 seconds')")
                .find("5000 branches, more than the limit of 64"),
            std::string::npos);
}

TEST_F(PendingLogTest, CommitMovesAPendingTransactionToCommittedWithDecisionConfirm) {
  ASSERT_TRUE(begin("ORD-1"));
  EXPECT_TRUE(commit(connection_, "ORD-1"));
  auto t = store_.find("ORD-1");
  EXPECT_EQ(t->status, Status::Committed);
  EXPECT_EQ(t->decision, Decision::Confirm);
  EXPECT_EQ(t->decided_by, "order-service");
  EXPECT_TRUE(commit(connection_, "ORD-1"));  // repeating it is harmless
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Committed);
}

TEST_F(PendingLogTest, CommitReturnsFalseForAnUnknownXid) {
  EXPECT_FALSE(commit(connection_, "ORD-unknown"));
  EXPECT_FALSE(commit(connection_, std::string(100000, 'x')));
  EXPECT_FALSE(store_.find("ORD-unknown").has_value());
}

TEST_F(PendingLogTest, CommitAfterACancelDecisionReturnsFalseAndChangesNothing) {
  ingest_and_claim("ORD-1", "replica-a");
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Cancel).decided_by_us);
  EXPECT_FALSE(commit(connection_, "ORD-1"));
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->status, Status::Cancelling);
  EXPECT_EQ(t->decision, Decision::Cancel);
}

TEST_F(PendingLogTest, CommitAfterAConfirmDecisionReturnsTrue) {
  ingest_and_claim("ORD-1", "replica-a");
  ASSERT_TRUE(store_.decide("ORD-1", lease_as("replica-a", "ORD-1"), Decision::Confirm).decided_by_us);
  EXPECT_TRUE(commit(connection_, "ORD-1"));
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Confirming);
}

TEST_F(PendingLogTest, CommitTakesATransactionParkedBeforeAnyDecision) {
  ingest_and_claim("ORD-1", "replica-a");
  auto parked = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Parked, 9);
  parked.parked_reason = "check kept answering unknown";
  ASSERT_TRUE(store_.write_back(parked));
  EXPECT_TRUE(commit(connection_, "ORD-1"));
  const auto t = store_.find("ORD-1");
  EXPECT_EQ(t->status, Status::Committed);
  EXPECT_EQ(t->parked_reason, "");
  EXPECT_EQ(store_.count_due(), 1);
}

// The order service's local order transaction holds the row from commit_transaction until it
// commits or rolls back; a concurrent decide(cancel) waits and then sees the outcome.
TEST_F(PendingLogTest, DecideWaitsForTheOrderTransactionThatTookTheRow) {
  for (const bool order_commits : {true, false}) {
    const std::string xid = order_commits ? "ORD-commits" : "ORD-rolls-back";
    ingest_and_claim(xid, "replica-a");
    pqxx::connection order_db(db_.dsn());
    pqxx::work order_transaction(order_db);
    ASSERT_TRUE(order_transaction.exec_params1("SELECT compensatord.commit_transaction($1)", xid)[0].as<bool>());
    const Lease lease = held(xid);
    auto decided = std::async(std::launch::async, [&] { return store_.decide(xid, lease, Decision::Cancel); });
    EXPECT_EQ(decided.wait_for(200ms), std::future_status::timeout) << "decide must wait for the row lock";
    if (order_commits) {
      order_transaction.commit();
    } else {
      order_transaction.abort();
    }
    const auto result = decided.get();
    EXPECT_EQ(result.decided_by_us, !order_commits);
    EXPECT_EQ(result.decision, order_commits ? Decision::Confirm : Decision::Cancel);
    EXPECT_EQ(store_.find(xid)->status, order_commits ? Status::Committed : Status::Cancelling);
  }
}

TEST_F(PendingLogTest, CommitRacingDecideCancelHasExactlyOneWinner) {
  constexpr int kRounds = 100;
  int commits_won = 0;
  pqxx::connection order_db(db_.dsn());
  for (int round = 0; round < kRounds; ++round) {
    const std::string xid = fmt::format("ORD-{}", round);
    const Lease lease = store::lease_of(ingest_and_claim(xid, "replica-a"));
    std::promise<void> go;
    const auto start = go.get_future().share();
    auto committed = std::async(std::launch::async, [&] {
      start.wait();
      return commit(order_db, xid);
    });
    auto decided = std::async(std::launch::async, [&] {
      start.wait();
      return store_.decide(xid, lease, Decision::Cancel);
    });
    go.set_value();
    const bool commit_won = committed.get();
    const auto decide = decided.get();
    ASSERT_NE(commit_won, decide.decided_by_us) << xid;
    const auto t = store_.find(xid);
    EXPECT_EQ(t->status, commit_won ? Status::Committed : Status::Cancelling) << xid;
    EXPECT_EQ(decide.decision, commit_won ? Decision::Confirm : Decision::Cancel) << xid;
    EXPECT_EQ(commit(order_db, xid), commit_won) << "a later commit must agree with the decision in force";
    commits_won += commit_won ? 1 : 0;
  }
  RecordProperty("commits_won", commits_won);
}

}  // namespace
}  // namespace compensatord::store::testing
