// The check against the real things it asks: an order database in PostgreSQL and the sample
// order service over HTTP.
#include "adapters/http_transport.hpp"
#include "check/check.hpp"
#include "legacy_services/server.hpp"
#include "store/pg_store.hpp"
#include "support/child_process.hpp"
#include "support/silent_server.hpp"
#include "support/test_database.hpp"

#include "common/http_client.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace compensatord::check {
namespace {

using namespace std::chrono_literals;

Transaction txn_of(std::string xid) {
  Transaction txn;
  txn.xid = std::move(xid);
  txn.kind = "order";
  return txn;
}

std::unique_ptr<Check> check_from(const std::string& yaml) {
  yaml::ConfigErrors errors;
  auto spec = parse_check(yaml::Reader(YAML::Load(yaml), "check", errors));
  EXPECT_TRUE(spec) << errors.to_string();
  return make_check(spec, adapters::make_cpprest_transport());
}

class SqlCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = db.connect();
    pqxx::work tx(c);
    tx.exec0("CREATE TABLE orders (order_no text PRIMARY KEY, status text)");
    tx.exec0(
        "INSERT INTO orders VALUES ('PAID-1', 'PAID'), ('GONE-1', 'CANCELLED'), ('ODD-1', 'ON_HOLD'), "
        "('NULL-1', NULL)");
    tx.commit();
  }
  std::unique_ptr<Check> sql_check(const std::string& extra = "") {
    return check_from(
        fmt::format("sql:\n  dsn: '{}'\n  query: SELECT status FROM orders WHERE order_no = $1\n{}", db.dsn(), extra));
  }
  testing::TestDatabase db;
};

TEST_F(SqlCheckTest, ARowMeansCommittedAndNoRowMeansAbsent) {
  auto check = sql_check();
  EXPECT_EQ(check->run(txn_of("PAID-1")).verdict, CheckVerdict::Committed);
  EXPECT_EQ(check->run(txn_of("NOPE")).verdict, CheckVerdict::Absent);
  // The xid is a bound parameter: quotes cannot change the query.
  EXPECT_EQ(check->run(txn_of("x' OR '1'='1")).verdict, CheckVerdict::Absent);
}

TEST_F(SqlCheckTest, ValueMappingLeavesOtherValuesUnknown) {
  auto check = sql_check("  committed_values: [PAID]\n  absent_values: [CANCELLED]\n");
  EXPECT_EQ(check->run(txn_of("PAID-1")).verdict, CheckVerdict::Committed);
  EXPECT_EQ(check->run(txn_of("GONE-1")).verdict, CheckVerdict::Absent);
  EXPECT_EQ(check->run(txn_of("NOPE")).verdict, CheckVerdict::Absent);
  auto odd = check->run(txn_of("ODD-1"));
  EXPECT_EQ(odd.verdict, CheckVerdict::Unknown);
  EXPECT_NE(odd.error.find("neither"), std::string::npos);
  EXPECT_EQ(check->run(txn_of("NULL-1")).verdict, CheckVerdict::Unknown);
}

TEST_F(SqlCheckTest, DatabaseTroubleIsUnknownNeverAnException) {
  auto slow = check_from(
      fmt::format("sql:\n  dsn: '{}'\n  query: SELECT pg_sleep(2) WHERE $1 <> ''\n  timeout: 100ms\n", db.dsn()));
  auto timed_out = slow->run(txn_of("PAID-1"));
  EXPECT_EQ(timed_out.verdict, CheckVerdict::Unknown);
  EXPECT_NE(timed_out.error.find("statement timeout"), std::string::npos) << timed_out.error;

  auto bad_sql =
      check_from(fmt::format("sql:\n  dsn: '{}'\n  query: SELECT * FROM no_such_table WHERE x = $1\n", db.dsn()));
  EXPECT_EQ(bad_sql->run(txn_of("PAID-1")).verdict, CheckVerdict::Unknown);

  const std::string unreachable = fmt::format("postgresql://nobody:s3cret@127.0.0.1:{}/x", testing::free_port());
  auto down = check_from(fmt::format("sql:\n  dsn: '{}'\n  query: SELECT 1 WHERE $1 <> ''\n", unreachable));
  auto refused = down->run(txn_of("PAID-1"));
  EXPECT_EQ(refused.verdict, CheckVerdict::Unknown);
  EXPECT_EQ(refused.error.find("s3cret"), std::string::npos) << "the password leaked: " << refused.error;
}

// An order database host that takes the connection and never answers (a hung server, a proxy in
// front of a dead one): the connect gives up after the check's timeout (libpq's whole seconds, at
// least 2 s) and the check answers unknown, instead of holding the worker for ever.
TEST_F(SqlCheckTest, AnOrderDatabaseThatNeverAnswersGivesUpAfterTheCheckTimeout) {
  testing::SilentServer silent;
  auto check = check_from(
      fmt::format("sql:\n  dsn: 'postgresql://reader:s3cret@127.0.0.1:{}/orders'\n  query: SELECT 1 WHERE $1 <> ''\n"
                  "  timeout: 1500ms\n",
                  silent.port()));
  const auto started = std::chrono::steady_clock::now();
  auto result = std::async(std::launch::async, [&] { return check->run(txn_of("PAID-1")); });
  const bool gave_up = result.wait_for(2s + 3s) == std::future_status::ready;
  if (!gave_up) silent.close();  // so that the check returns and the test ends
  const auto answer = result.get();
  EXPECT_TRUE(gave_up) << "the check was still connecting after 5 s";
  EXPECT_EQ(answer.verdict, CheckVerdict::Unknown);
  EXPECT_NE(answer.error.find("timeout expired"), std::string::npos) << answer.error;
  EXPECT_EQ(answer.error.find("s3cret"), std::string::npos) << answer.error;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1900ms);
}

// Checks from many workers share at most max_connections connections to the order database, and
// each one is answered.
TEST_F(SqlCheckTest, ManyConcurrentChecksOpenNoMoreThanMaxConnections) {
  auto check = check_from(
      fmt::format("sql:\n  dsn: '{}'\n  query: SELECT status FROM orders, pg_sleep(0.05) WHERE order_no = $1\n"
                  "  max_connections: 2\n",
                  db.dsn()));
  // One connection for every sample: a sampler's own closed connections would linger in
  // pg_stat_activity and be counted.
  auto sampler = db.connect();
  const auto check_connections = [&] {
    return pqxx::nontransaction(sampler)
        .exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'")[0]
        .as<int>();
  };
  std::atomic<int> most_open{0};
  std::atomic<bool> checking{true};
  std::thread watcher([&] {
    while (checking) {
      most_open = std::max(most_open.load(), check_connections());
      std::this_thread::sleep_for(5ms);
    }
  });
  std::vector<std::future<CheckVerdict>> verdicts;
  for (int i = 0; i < 16; ++i) {
    verdicts.push_back(std::async(std::launch::async, [&] { return check->run(txn_of("PAID-1")).verdict; }));
  }
  for (auto& verdict : verdicts) EXPECT_EQ(verdict.get(), CheckVerdict::Committed);
  checking = false;
  watcher.join();
  EXPECT_GE(most_open.load(), 1);
  EXPECT_LE(most_open.load(), 2) << "16 concurrent checks, max_connections 2";
}

// Checks wait for the one connection first come, first served; one that would get it only after
// its timeout gives up then and answers unknown, naming the limit.
TEST_F(SqlCheckTest, ACheckWaitsForAFreeConnectionAtMostItsTimeout) {
  auto check = check_from(
      fmt::format("sql:\n  dsn: '{}'\n  query: SELECT 1 FROM pg_sleep(0.7) WHERE $1 <> ''\n  max_connections: 1\n"
                  "  timeout: 1s\n",
                  db.dsn()));
  // first holds the connection for 0.7 s, second waits and holds it from 0.7 s to 1.4 s, third
  // starts at 0.2 s and would get it at 1.4 s: after its 1 s.
  auto first = std::async(std::launch::async, [&] { return check->run(txn_of("A")); });
  std::this_thread::sleep_for(100ms);
  auto second = std::async(std::launch::async, [&] { return check->run(txn_of("B")); });
  std::this_thread::sleep_for(100ms);
  const auto third = check->run(txn_of("C"));
  EXPECT_EQ(third.verdict, CheckVerdict::Unknown);
  EXPECT_NE(third.error.find("no free connection to the order database within 1000 ms"), std::string::npos)
      << third.error;
  EXPECT_NE(third.error.find("max_connections"), std::string::npos) << third.error;
  EXPECT_GE(third.latency, 950ms);
  EXPECT_EQ(first.get().verdict, CheckVerdict::Committed);
  const auto waited = second.get();
  EXPECT_EQ(waited.verdict, CheckVerdict::Committed) << waited.error;
  EXPECT_GE(waited.latency, 1200ms) << "it waited for the first one's connection";
}

TEST_F(SqlCheckTest, ABrokenConnectionIsReplacedOnTheNextCheck) {
  auto check = sql_check();
  EXPECT_EQ(check->run(txn_of("PAID-1")).verdict, CheckVerdict::Committed);
  {
    auto c = db.connect();
    pqxx::nontransaction(c).exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
        "pg_backend_pid()");
  }
  auto after = check->run(txn_of("PAID-1"));
  if (after.verdict == CheckVerdict::Unknown) after = check->run(txn_of("PAID-1"));
  EXPECT_EQ(after.verdict, CheckVerdict::Committed) << after.error;
}

// A password no message may carry: libpq quotes a malformed URI whole in its error.
const std::string kSecret = "Pw-d1st1nct-9f3k";

TEST_F(SqlCheckTest, AConnectionErrorNeverShowsThePassword) {
  for (const auto& dsn : {"postgresql://svc:" + kSecret + "@[::1/orders",
                          "postgresql://svc:" + kSecret + "@127.0.0.1:1/orders?sslmode=bogus",
                          "host=127.0.0.1 port=1 user=svc password=" + kSecret,
                          "host=127.0.0.1 port=1 password='" + kSecret + " dbname=orders"}) {
    auto check = check_from(fmt::format("sql:\n  dsn: \"{}\"\n  query: SELECT 1 WHERE $1 <> ''\n", dsn));
    auto result = check->run(txn_of("ORD-1"));
    EXPECT_EQ(result.verdict, CheckVerdict::Unknown) << dsn;
    EXPECT_NE(result.error.find("SQL check failed"), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find(kSecret), std::string::npos) << result.error;
    EXPECT_EQ(result.request_summary.find(kSecret), std::string::npos) << result.request_summary;
  }
}

class HttpCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::PgStore(db.dsn()).migrate();
    demo::ServicesOptions options;
    options.listen = fmt::format("127.0.0.1:{}", testing::free_port());
    options.order_dsn = db.dsn();
    services = std::make_unique<demo::LegacyServices>(options);
    services->start();
    auto c = db.connect();
    pqxx::work tx(c);
    tx.exec1("SELECT compensatord.begin_transaction('ORD-1', 'order', '[]'::jsonb, interval '1 minute')");
    tx.commit();
    demo::HttpClient client(services->url());
    auto created = client.post("/api/order/create", R"({"orderNo":"ORD-1","sku":"SKU-1","qty":1})");
    ASSERT_EQ(created.status, 200) << created.body;
  }

  std::unique_ptr<Check> http_check(const std::string& base_url) {
    return check_from(
        fmt::format("http:\n  url: {}/api/order/{{{{xid}}}}\n  timeout: 1s\n  outcomes:\n"
                    "    - {{status: [200], then: committed}}\n"
                    "    - {{status: [404], json: {{code: 1001}}, then: absent}}\n",
                    base_url));
  }

  testing::TestDatabase db;
  std::unique_ptr<demo::LegacyServices> services;
};

TEST_F(HttpCheckTest, AnExistingOrderIsCommittedAndAMissingOneAbsent) {
  auto check = http_check(services->url());
  auto committed = check->run(txn_of("ORD-1"));
  EXPECT_EQ(committed.verdict, CheckVerdict::Committed) << committed.error;
  EXPECT_EQ(committed.http_status, 200);
  EXPECT_EQ(committed.request_summary, "GET " + services->url() + "/api/order/ORD-1");
  EXPECT_EQ(check->run(txn_of("ORD-2")).verdict, CheckVerdict::Absent);
}

TEST_F(HttpCheckTest, AHostileXidStaysOnePathSegment) {
  auto check = http_check(services->url());
  auto result = check->run(txn_of("ORD-1/../ORD-1?x=1&y=\"}"));
  // Had "/../" reached the service as a path, it would have answered for ORD-1: committed.
  // It saw one odd order number instead and refused it, which the rules leave unknown.
  EXPECT_EQ(result.verdict, CheckVerdict::Unknown) << result.error;
  EXPECT_EQ(result.http_status, 400);
  EXPECT_NE(result.request_summary.find("ORD-1%2F..%2FORD-1%3Fx%3D1"), std::string::npos) << result.request_summary;
}

// An xid of "." or ".." would make the path another endpoint's (whose 404 reads as absent): the
// request is never made, and the check says it cannot be asked rather than "unknown, ask again".
TEST_F(HttpCheckTest, AnXidThatWouldBeADotSegmentCannotBeAsked) {
  auto check = http_check(services->url());
  for (const std::string xid : {"..", "."}) {
    auto result = check->run(txn_of(xid));
    EXPECT_TRUE(result.unaskable) << xid;
    EXPECT_EQ(result.verdict, CheckVerdict::Unknown);
    EXPECT_FALSE(result.http_status);
    EXPECT_NE(result.error.find("cannot be made"), std::string::npos) << result.error;
    EXPECT_EQ(result.request_summary, "GET " + services->url() + " (not sent)");
  }
  EXPECT_FALSE(check->run(txn_of("ORD-1")).unaskable);
}

TEST_F(HttpCheckTest, ThePasswordOfTheUrlStaysOutOfTheSummaryAndTheError) {
  const auto with_password = [&](const std::string& url) {
    return "http://ops:" + kSecret + "@" + url.substr(std::string("http://").size());
  };
  auto answered = http_check(with_password(services->url()))->run(txn_of("ORD-1"));
  EXPECT_EQ(answered.verdict, CheckVerdict::Committed) << answered.error;
  EXPECT_EQ(answered.request_summary.find(kSecret), std::string::npos) << answered.request_summary;
  EXPECT_NE(answered.request_summary.find("http://ops:***@127.0.0.1"), std::string::npos) << answered.request_summary;

  auto refused =
      http_check(with_password(fmt::format("http://127.0.0.1:{}", testing::free_port())))->run(txn_of("ORD-1"));
  EXPECT_EQ(refused.verdict, CheckVerdict::Unknown);
  EXPECT_EQ(refused.error.find(kSecret), std::string::npos) << refused.error;
  EXPECT_EQ(refused.request_summary.find(kSecret), std::string::npos) << refused.request_summary;
}

TEST_F(HttpCheckTest, ErrorsAndUnmatchedAnswersAreUnknown) {
  demo::HttpClient client(services->url());
  ASSERT_EQ(client.post("/admin/knobs", R"({"order":{"fail_rate":1}})").status, 200);
  auto failing = http_check(services->url())->run(txn_of("ORD-1"));
  EXPECT_EQ(failing.verdict, CheckVerdict::Unknown);
  EXPECT_NE(failing.error.find("HTTP 500"), std::string::npos) << failing.error;

  auto refused = http_check(fmt::format("http://127.0.0.1:{}", testing::free_port()))->run(txn_of("ORD-1"));
  EXPECT_EQ(refused.verdict, CheckVerdict::Unknown);
  EXPECT_FALSE(refused.error.empty());
  EXPECT_FALSE(refused.http_status);
}

}  // namespace
}  // namespace compensatord::check
