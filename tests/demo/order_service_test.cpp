// The order service's create path and demo-traffic against a real PostgreSQL carrying
// compensatord's migrations (begin_transaction / commit_transaction).

#include "services_fixture.hpp"
#include "store/migrations.hpp"
#include "support/test_database.hpp"
#include "support/work_dir.hpp"
#include "traffic/report.hpp"
#include "traffic/traffic.hpp"

#include <fstream>
#include <future>
#include <thread>

namespace demo::testing {
namespace {

using nlohmann::json;

class OrderService : public ServicesTest {
 protected:
  void SetUp() override {
    compensatord::store::migrate(db_.dsn());
    start_services(db_.dsn());
  }

  bool begin(const std::string& xid) {
    auto connection = db_.connect();
    pqxx::work work(connection);
    const bool inserted =
        work.exec_params1(
                "SELECT compensatord.begin_transaction($1, 'order', "
                "'[{\"participant\":\"stock\",\"fields\":{\"sku\":\"SKU-1\",\"qty\":1}}]'::jsonb, interval '1 hour')",
                xid)[0]
            .as<bool>();
    work.commit();
    return inserted;
  }

  std::string scalar(const std::string& sql, const std::string& param) {
    auto connection = db_.connect();
    pqxx::read_transaction work(connection);
    const auto rows = work.exec_params(sql, param);
    return rows.empty() || rows[0][0].is_null() ? "<none>" : rows[0][0].as<std::string>();
  }
  std::string status_of(const std::string& xid) {
    return scalar("SELECT status FROM compensatord.transactions WHERE xid = $1", xid);
  }
  long long orders_named(const std::string& order_no) {
    return std::stoll(scalar("SELECT count(*) FROM demo_orders WHERE order_no = $1", order_no));
  }

  static json order(const std::string& order_no, const std::string& coupon_id = "") {
    return {{"orderNo", order_no}, {"sku", "SKU-1"}, {"qty", 1}, {"couponId", coupon_id}};
  }

  compensatord::testing::TestDatabase db_;
};

TEST_F(OrderService, CreateWritesTheOrderAndCommitsTheTransactionTogether) {
  ASSERT_TRUE(begin("ORD-1"));
  auto created = post("/api/order/create", order("ORD-1", "CPN-2"));

  EXPECT_EQ(created.status, 200);
  EXPECT_EQ(code_of(created), 0);
  EXPECT_EQ(status_of("ORD-1"), "COMMITTED");
  auto found = get("/api/order/ORD-1");
  ASSERT_EQ(found.status, 200);
  EXPECT_EQ(json_of(found)["couponId"], "CPN-2");
  EXPECT_EQ(json_of(found)["qty"], 1);
}

TEST_F(OrderService, CreateIsIdempotent) {
  ASSERT_TRUE(begin("ORD-2"));
  post("/api/order/create", order("ORD-2"));
  auto again = post("/api/order/create", order("ORD-2"));

  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(code_of(again), 1002);
  EXPECT_EQ(orders_named("ORD-2"), 1);
  EXPECT_EQ(scalar("SELECT coalesce(coupon_id, 'NULL') FROM demo_orders WHERE order_no = $1", "ORD-2"), "NULL");
}

TEST_F(OrderService, CreateAfterACancelDecisionIsRefusedAndLeavesNoOrder) {
  ASSERT_TRUE(begin("ORD-3"));
  {
    auto connection = db_.connect();
    pqxx::work work(connection);
    work.exec_params0("UPDATE compensatord.transactions SET status = 'CANCELLING', decision = 'cancel' WHERE xid = $1",
                      "ORD-3");
    work.commit();
  }
  auto created = post("/api/order/create", order("ORD-3"));

  EXPECT_EQ(created.status, 409);
  EXPECT_EQ(code_of(created), 1006);
  EXPECT_EQ(orders_named("ORD-3"), 0);
  EXPECT_EQ(status_of("ORD-3"), "CANCELLING");
  EXPECT_EQ(get("/api/order/ORD-3").status, 404);
}

TEST_F(OrderService, CreateOfAnUnknownTransactionIsRefused) {
  auto created = post("/api/order/create", order("ORD-4"));
  EXPECT_EQ(code_of(created), 1006);
  EXPECT_EQ(orders_named("ORD-4"), 0);
}

TEST_F(OrderService, GetOfAMissingOrderIsNotFound) {
  auto found = get("/api/order/ORD-5");
  EXPECT_EQ(found.status, 404);
  EXPECT_EQ(code_of(found), 1001);
}

TEST_F(OrderService, LostReplyCommitsTheOrderButAnswers500) {
  ASSERT_TRUE(begin("ORD-6"));
  set_knobs({{"order", {{"lost_reply_rate", 1.0}}}});
  auto created = post("/api/order/create", order("ORD-6"));

  EXPECT_EQ(created.status, 500);
  EXPECT_EQ(orders_named("ORD-6"), 1);
  EXPECT_EQ(status_of("ORD-6"), "COMMITTED");
}

TEST_F(OrderService, FailRateAnswers500AndCreatesNothing) {
  ASSERT_TRUE(begin("ORD-7"));
  set_knobs({{"order", {{"fail_rate", 1.0}}}});
  EXPECT_EQ(post("/api/order/create", order("ORD-7")).status, 500);
  EXPECT_EQ(orders_named("ORD-7"), 0);
  EXPECT_EQ(status_of("ORD-7"), "PENDING");
}

TEST_F(OrderService, HostileCreateIsRefusedAndTheDatabaseIsUntouched) {
  const std::vector<std::string> bodies = {
      R"({"orderNo":"X'; DROP TABLE demo_orders; --","sku":"SKU-1","qty":1})",
      R"({"orderNo":"X-1","sku":"SKU-1","qty":1,"couponId":[1]})",
      R"({"orderNo":"X-1","sku":"SKU-1"})",
      R"({"orderNo":"X-1")",
      std::string(3 << 20, ' '),
  };
  for (const auto& body : bodies) {
    auto reply = post_raw("/api/order/create", body);
    EXPECT_EQ(reply.status, 400) << body.substr(0, 60) << " -> " << reply.body;
  }
  EXPECT_EQ(get("/api/order/X%27").status, 400);
  EXPECT_EQ(std::stoll(scalar("SELECT count(*) FROM demo_orders WHERE $1 = $1", "x")), 0);
}

// The order service's database work runs on its own workers, one per connection, behind a
// bounded queue: with the only worker stuck on a row lock and the queue full, the next create is
// answered 503 at once, and the stuck and queued ones finish once the lock is gone.
TEST_F(OrderService, AFullDatabaseQueueIsAnswered503AtOnceAndQueuedCallsFinishLater) {
  services_->stop();
  start_services(db_.dsn(), [](ServicesOptions& options) {
    options.order_db_connections = 1;
    options.order_queue = 1;
  });
  for (const char* xid : {"Q-1", "Q-2", "Q-3"}) ASSERT_TRUE(begin(xid));
  auto holder = db_.connect();
  pqxx::work held(holder);
  held.exec_params1("SELECT 1 FROM compensatord.transactions WHERE xid = $1 FOR UPDATE", "Q-1");

  auto create = [this](const std::string& xid) {
    return std::async(std::launch::async, [this, xid] { return post("/api/order/create", order(xid)); });
  };
  auto lock_waits = [this] {
    return scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = $1",
                  "Lock");
  };
  auto stuck = create("Q-1");
  for (int i = 0; i < 100 && lock_waits() == "0"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(lock_waits(), "1");
  std::future<HttpReply> others[] = {create("Q-2"), create("Q-3")};
  // One of the two takes the queue's only place; the other is refused without waiting.
  int ready = -1;
  for (int i = 0; i < 500 && ready < 0; ++i) {
    for (int k = 0; k < 2; ++k) {
      if (others[k].wait_for(std::chrono::milliseconds(5)) == std::future_status::ready) ready = k;
    }
  }
  ASSERT_GE(ready, 0) << "neither create was answered while the worker was stuck";
  const auto refused = others[ready].get();
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(msg_of(refused).find("queue full"), std::string::npos) << refused.body;

  held.commit();
  EXPECT_EQ(code_of(stuck.get()), 0);
  EXPECT_EQ(code_of(others[1 - ready].get()), 0);
  EXPECT_EQ(std::stoll(scalar("SELECT count(*) FROM demo_orders WHERE order_no LIKE $1", "Q-%")), 2);
}

class Traffic : public OrderService {
 protected:
  TrafficOptions options(double die_rate) const {
    TrafficOptions o;
    o.dsn = db_.dsn();
    o.services_url = services_->url();
    o.run_id = "t";
    o.orders = 40;
    o.concurrency = 4;
    o.die_rate = die_rate;
    o.skus = 3;
    o.coupons = 5;
    o.coupon_share = 0.1;
    o.txn_timeout = std::chrono::hours(1);
    return o;
  }

  ConsistencyReport report() {
    return build_report("t", fetch_totals(services_->url()), fetch_orders(db_.dsn(), "t"),
                        fetch_transactions(db_.dsn(), "t"));
  }
};

TEST_F(Traffic, OrdersThatNeverDieLeaveNothingToRepair) {
  TrafficCounters counters;
  run_traffic(options(0.0), counters);
  const auto r = report();

  const long long created = counters.count(OrderEnd::Placed) + counters.count(OrderEnd::ConfirmFailed);
  EXPECT_EQ(counters.finished(), 40);
  EXPECT_EQ(counters.count(OrderEnd::Died), 0);
  // Coupons beyond the pool of 5 are refused, which aborts those orders before they commit.
  EXPECT_GT(created, 30);
  EXPECT_EQ(r.by_status.at("COMMITTED"), created);
  EXPECT_TRUE(r.stock_not_confirmed.empty());
  EXPECT_TRUE(r.coupon_not_confirmed.empty());
  EXPECT_TRUE(r.coupon_used_without_order.empty());
  EXPECT_TRUE(r.stock_sold_without_order.empty());
  // Only aborted orders keep locks: compensatord (not running here) would cancel them.
  EXPECT_EQ(static_cast<long long>(r.stock_locked_without_order.size()), counters.count(OrderEnd::Aborted));
  // COMMITTED still awaits compensatord's confirm, so the run is not finished yet.
  EXPECT_EQ(static_cast<long long>(r.unfinished.size()), 40 - counters.count(OrderEnd::BeginFailed));
  EXPECT_FALSE(r.consistent());
}

TEST_F(Traffic, DyingOrdersLeaveExactlyTheLeftoversTheReportNames) {
  TrafficCounters counters;
  run_traffic(options(1.0), counters);
  const auto r = report();
  const auto died_at = [&](DiePoint p) {
    for (std::size_t i = 0; i < kDiePoints.size(); ++i) {
      if (kDiePoints[i] == p) return counters.died_at[i].load();
    }
    return 0LL;
  };

  EXPECT_EQ(counters.count(OrderEnd::Died) + counters.count(OrderEnd::Aborted) + counters.count(OrderEnd::Cancelled),
            40);
  long long died = 0;
  for (const auto& n : counters.died_at) died += n.load();
  EXPECT_EQ(died, counters.count(OrderEnd::Died));
  EXPECT_GT(died_at(DiePoint::AfterOrderCreate), 0);
  EXPECT_EQ(static_cast<long long>(r.stock_not_confirmed.size()), died_at(DiePoint::AfterOrderCreate));
  EXPECT_EQ(static_cast<long long>(r.stock_locked_without_order.size()),
            40 - died_at(DiePoint::AfterOrderCreate) - counters.count(OrderEnd::Cancelled));
  EXPECT_FALSE(r.consistent());
  EXPECT_NE(format_report(r).find("RESULT: INCONSISTENT"), std::string::npos);
}

TEST_F(Traffic, ConvergenceWaitGivesUpAtItsTimeoutWithTheUnfinishedCount) {
  ASSERT_TRUE(begin("t-000001"));
  long long polls = 0;
  const auto unfinished =
      wait_for_convergence(db_.dsn(), "t", 0, std::chrono::milliseconds(100), [&](long long) { ++polls; });
  EXPECT_EQ(unfinished, 1);
  EXPECT_GE(polls, 1);
}

// A chaos run restarts the database under the wait: its connection dies (as under
// pg_ctl restart -m immediate) and the next poll must reconnect instead of ending the run
// without a report.
TEST_F(Traffic, ConvergenceWaitReconnectsWhenTheDatabaseDropsItsConnection) {
  ASSERT_TRUE(begin("t-000001"));
  auto connection = db_.connect();
  const auto terminate_the_others = [&] {
    pqxx::nontransaction work(connection);
    return work
        .exec_params1(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            db_.name())[0]
        .as<int>();
  };
  int polls = 0;
  int terminated = 0;
  const auto unfinished = wait_for_convergence(db_.dsn(), "t", 1, std::chrono::seconds(30), [&](long long) {
    if (++polls == 1) terminated = terminate_the_others();
    if (polls == 2) {
      pqxx::nontransaction(connection)
          .exec(
              "UPDATE compensatord.transactions SET status = 'CANCELLED', decision = 'cancel', "
              "decided_by = 'test', decided_at = now(), finished_at = now() WHERE xid = 't-000001'");
    }
  });
  EXPECT_GE(terminated, 1) << "the test must end the wait's connection (every one but its own, as a restart does)";
  EXPECT_EQ(unfinished, 0);
  EXPECT_EQ(polls, 3);
  EXPECT_EQ(fetch_transactions(db_.dsn(), "t").size(), 1u);
}

// demo-traffic under a database that goes away, as in a chaos run: a cluster of the test's own (the
// shared one serves every other test), stopped at once under running traffic and started again.
class TrafficUnderRestart : public ServicesTest {
 protected:
  void SetUp() override {
    pg("start");
    std::ifstream(work_.file("pg") + "/dsn") >> dsn_;
    compensatord::store::migrate(dsn_);
    // Stock for every order: an order refused for stock would hide whether the traffic carries on.
    start_services(dsn_, [](ServicesOptions& o) { o.stock_per_sku = 1'000'000; });
  }
  void TearDown() override {
    ServicesTest::TearDown();
    pg("stop");
  }

  void pg(const std::string& command) {
    const auto result = compensatord::testing::run_to_completion(
        {"/bin/bash", THROWAWAY_PG_SCRIPT, command, work_.file("pg")}, std::chrono::seconds(120));
    ASSERT_EQ(result.exit_code, 0) << "throwaway-pg.sh " << command << ": " << result.output;
  }

  // Polls `condition` for up to a minute: the bound only ends a broken run.
  static bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  static long long placed(const TrafficCounters& counters) {
    return counters.count(OrderEnd::Placed) + counters.count(OrderEnd::ConfirmFailed);
  }

  compensatord::testing::WorkDir work_;
  std::string dsn_;
};

TEST_F(TrafficUnderRestart, OrdersFailWhileTheDatabaseIsDownAndTrafficCarriesOnAfterIt) {
  TrafficOptions o;
  o.dsn = dsn_;
  o.services_url = services_->url();
  o.run_id = "r";
  o.orders = 3000;
  o.concurrency = 4;
  o.die_rate = 0.3;
  o.skus = 3;
  o.coupon_share = 0;  // the pool of 5 coupons would abort orders for a reason of its own
  o.txn_timeout = std::chrono::hours(1);
  TrafficCounters counters;
  auto traffic = std::async(std::launch::async, [&] { run_traffic(o, counters); });

  ASSERT_TRUE(eventually([&] { return counters.finished() >= 20; }));
  pg("pause");
  ASSERT_TRUE(eventually([&] { return counters.count(OrderEnd::BeginFailed) >= 1; }))
      << "an order placed while the database is down fails";
  const long long placed_while_down = placed(counters);
  pg("resume");
  ASSERT_EQ(traffic.wait_for(std::chrono::minutes(2)), std::future_status::ready);
  traffic.get();

  EXPECT_EQ(counters.finished(), 3000) << format_traffic(counters);
  EXPECT_GT(placed(counters), placed_while_down)
      << "orders are placed again once the database is back: " << format_traffic(counters);
  // A worker fails the order it was placing and waits for the database before its next one; at most
  // one more fails on a connection that broke while it was elsewhere. Before, every order taken
  // while the database was down failed at once: hundreds.
  EXPECT_LE(counters.count(OrderEnd::BeginFailed), 2 * o.concurrency);
}

TEST_F(Traffic, BadOptionsAreRefusedNamingTheFlag) {
  TrafficCounters counters;
  auto o = options(0.0);
  o.die_rate = 1.5;
  try {
    run_traffic(o, counters);
    ADD_FAILURE() << "accepted --die-rate 1.5";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--die-rate"), std::string::npos);
  }
  EXPECT_EQ(counters.started.load(), 0);
}

}  // namespace
}  // namespace demo::testing
