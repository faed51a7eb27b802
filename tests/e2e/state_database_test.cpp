// compensatord as a process against a state database that makes it wait: a row the order service
// keeps locked must cost one worker database.lock_timeout, not stall the engine.

#include "end_to_end.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <functional>
#include <thread>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;

// Polls `done` every 100 ms for at most `timeout`; true once it held.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

void set_stock_latency(const std::string& services_url, int ms) {
  demo::HttpClient admin(services_url);
  ASSERT_EQ(admin.post("/admin/knobs", nlohmann::json{{"stock", {{"latency_ms", ms}}}}.dump()).status, 200);
}

// Another session (the order service's order transaction, an operator's psql) locks a row the
// daemon has claimed and decided, and does not let go, while the daemon calls its participant.
// Without a lock timeout the worker's write-back waited as long as the lock was held; with one
// worker, no other transaction was finished meanwhile.
TEST_F(EndToEnd, ARowLockedByAnotherSessionCostsOneLockTimeoutAndTheOtherWorkGoesOn) {
  start_services();
  // Participant calls of 2 s, within a 3 s timeout: time to lock the row between decide and write-back.
  const std::string config = write_config("daemon.yaml", 50, 1, daemon_port, "e2e", "10s");
  YAML::Node yaml = YAML::LoadFile(config);
  yaml["database"]["lock_timeout"] = "1s";
  yaml["participants"]["stock"]["timeout"] = "3s";
  std::ofstream(config) << YAML::Dump(yaml);
  migrate(config);
  set_stock_latency(services_url, 2000);
  place_abandoned_orders(1);  // ABANDONED-0

  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  const auto status_of_first = [&] {
    auto connection = db.connect();
    pqxx::nontransaction tx(connection);
    return tx.exec1("SELECT status FROM compensatord.transactions WHERE xid = 'ABANDONED-0'")[0].as<std::string>();
  };
  pqxx::connection other_db(db.dsn());
  pqxx::work other_session(other_db);
  ASSERT_TRUE(eventually([&] { return status_of_first() == "CANCELLING"; }, 30s)) << daemon.log();
  other_session.exec1("SELECT 1 FROM compensatord.transactions WHERE xid = 'ABANDONED-0' FOR UPDATE");

  // Work that arrives meanwhile is finished while the row stays locked.
  set_stock_latency(services_url, 0);
  constexpr int kOthers = 10;
  place_abandoned_orders(kOthers, "LATER");
  const auto others_cancelled = [&] {
    return query_count(
        "SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED' AND "
        "xid LIKE 'LATER-%'");
  };
  EXPECT_TRUE(eventually([&] { return others_cancelled() == kOthers; }, 45s))
      << others_cancelled() << " of " << kOthers << " cancelled while one row was locked\n"
      << daemon.log();
  EXPECT_TRUE(eventually([&] { return daemon.log().find("lock timeout") != std::string::npos; }, 10s)) << daemon.log();
  EXPECT_EQ(status_of_first(), "CANCELLING");
  ASSERT_TRUE(daemon.running()) << daemon.log();

  // Once the other session ends, the locked transaction is finished like the others.
  other_session.abort();
  EXPECT_TRUE(eventually([&] { return status_of_first() == "CANCELLED"; }, 45s)) << daemon.log();
  EXPECT_EQ(totals()["stock"]["locked"], 0);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
}

}  // namespace
}  // namespace compensatord::testing
