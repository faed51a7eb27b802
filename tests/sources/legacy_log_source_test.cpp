// The legacy log source against a real PostgreSQL: a legacy table's rows become transactions
// once; polling again changes nothing; bad rows are skipped and counted.

#include "sources/legacy_log_source.hpp"
#include "store/pg_store.hpp"
#include "support/log_capture.hpp"
#include "support/silent_server.hpp"
#include "support/test_database.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace compensatord::sources {
namespace {

using namespace std::chrono_literals;
using testing::TestDatabase;

constexpr auto kKindTimeout = 5min;

sources::LegacyLogConfig order_log_config(const std::string& dsn) {
  sources::LegacyLogConfig config;
  config.name = "old_order_log";
  config.dsn = dsn;
  config.query = "SELECT order_no AS xid, sku, qty, coupon_id FROM order_log ORDER BY id";
  config.kind = "order";
  config.interval = 50ms;
  config.branches = {{"stock", {{"sku", "sku"}, {"qty", "qty"}}}, {"coupon", {{"coupon_id", "coupon_id"}}}};
  return config;
}

class LegacyLogSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.migrate();
    exec(
        "CREATE TABLE order_log (id serial PRIMARY KEY, order_no text, sku text, qty integer, coupon_id text, "
        "price numeric, due timestamptz)");
  }

  void exec(const std::string& sql) {
    auto connection = legacy_.connect();
    pqxx::work tx(connection);
    tx.exec0(sql);
    tx.commit();
  }

  void log_order(const std::string& values) {
    exec("INSERT INTO order_log (order_no, sku, qty, coupon_id) VALUES " + values);
  }

  long long count_transactions() {
    auto connection = state_.connect();
    pqxx::work tx(connection);
    return tx.exec1("SELECT count(*) FROM compensatord.transactions")[0].as<long long>();
  }

  TestDatabase state_;
  TestDatabase legacy_;
  store::PgStore store_{state_.dsn()};
};

TEST_F(LegacyLogSourceTest, RowsBecomeTransactionsWithTheirBranches) {
  log_order("('ORD-1', 'A-1', 2, 'C-9'), ('ORD-2', 'B-7', 1, NULL)");
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);

  const auto before = Clock::now();
  PollResult result = source.poll_once();
  EXPECT_EQ(result.rows_seen, 2);
  EXPECT_EQ(result.inserted, 2);
  EXPECT_EQ(result.already_known, 0);
  EXPECT_EQ(result.rejected, 0);

  auto first = store_.find("ORD-1");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, "order");
  EXPECT_EQ(first->source, "legacy:old_order_log");
  EXPECT_EQ(first->status, Status::Pending);
  EXPECT_GE(first->due_at, before + kKindTimeout - 1s);
  EXPECT_LE(first->due_at, Clock::now() + kKindTimeout + 1s);
  ASSERT_EQ(first->branches.size(), 2u);
  EXPECT_EQ(first->branches[0].participant, "stock");
  EXPECT_EQ(first->branches[0].fields, (nlohmann::json{{"sku", "A-1"}, {"qty", 2}}));  // qty stays a number
  EXPECT_EQ(first->branches[1].participant, "coupon");
  EXPECT_EQ(first->branches[1].fields, (nlohmann::json{{"coupon_id", "C-9"}}));

  auto second = store_.find("ORD-2");
  ASSERT_TRUE(second);
  ASSERT_EQ(second->branches.size(), 1u) << "a branch whose mapped columns are all NULL is omitted";
  EXPECT_EQ(second->branches[0].participant, "stock");
}

TEST_F(LegacyLogSourceTest, PollingAgainChangesNothing) {
  log_order("('ORD-1', 'A-1', 2, 'C-9'), ('ORD-2', 'B-7', 1, NULL)");
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);
  ASSERT_EQ(source.poll_once().inserted, 2);
  auto before = store_.find("ORD-1");
  ASSERT_TRUE(before);

  PollResult again = source.poll_once();
  EXPECT_EQ(again.rows_seen, 2);
  EXPECT_EQ(again.inserted, 0);
  EXPECT_EQ(again.already_known, 2);
  EXPECT_EQ(count_transactions(), 2);
  auto after = store_.find("ORD-1");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->due_at, before->due_at);
  EXPECT_EQ(after->branches.size(), before->branches.size());

  log_order("('ORD-3', 'A-1', 5, NULL)");
  PollResult with_new_row = source.poll_once();
  EXPECT_EQ(with_new_row.inserted, 1);
  EXPECT_EQ(with_new_row.already_known, 2);
  EXPECT_EQ(count_transactions(), 3);
}

TEST_F(LegacyLogSourceTest, BadRowsAreSkippedAndCounted) {
  log_order(
      "(NULL, 'A-1', 1, NULL), "              // no xid
      "('', 'A-1', 1, NULL), "                // empty xid
      "(repeat('x', 257), 'A-1', 1, NULL), "  // xid too long
      "('HALF', 'A-1', NULL, NULL), "         // stock branch half NULL
      "('HUGE', repeat('s', 70000), 1, NULL), "
      "('GOOD', 'A-1', 1, NULL), "
      "(repeat('y', 256), 'A-1', 1, NULL)");  // the longest xid allowed
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);

  PollResult result = source.poll_once();
  EXPECT_EQ(result.rows_seen, 7);
  EXPECT_EQ(result.rejected, 5);
  EXPECT_EQ(result.inserted, 2);
  EXPECT_TRUE(store_.find("GOOD"));
  EXPECT_TRUE(store_.find(std::string(256, 'y')));
  EXPECT_FALSE(store_.find("HALF"));
  EXPECT_FALSE(store_.find("HUGE"));
  EXPECT_EQ(count_transactions(), 2);
}

TEST_F(LegacyLogSourceTest, HostileValuesAreStoredVerbatim) {
  const std::string xid = "a'; DROP TABLE order_log; --\n\"}{{xid}}";
  auto connection = legacy_.connect();
  pqxx::work tx(connection);
  tx.exec_params("INSERT INTO order_log (order_no, sku, qty) VALUES ($1, $2, 1)", xid, "Ω/../?x=1&y=\"2\"");
  tx.commit();
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);

  EXPECT_EQ(source.poll_once().inserted, 1);
  auto txn = store_.find(xid);
  ASSERT_TRUE(txn);
  EXPECT_EQ(txn->branches.at(0).fields["sku"], "Ω/../?x=1&y=\"2\"");
}

TEST_F(LegacyLogSourceTest, DueAtColumnAndNumericColumnsAreUsed) {
  exec(
      "INSERT INTO order_log (order_no, sku, qty, price, due) VALUES "
      "('ORD-T', 'A-1', 3, 12.50, '2030-01-02 03:04:05.25+02'), ('ORD-N', 'A-2', 1, NULL, NULL)");
  auto config = order_log_config(legacy_.dsn());
  config.query = "SELECT order_no AS xid, sku, qty, price, due AS due_at FROM order_log";
  config.branches = {{"stock", {{"sku", "sku"}, {"qty", "qty"}}}, {"points", {{"price", "price"}}}};
  LegacyLogSource source(config, kKindTimeout, store_);

  ASSERT_EQ(source.poll_once().inserted, 2);
  auto timed = store_.find("ORD-T");
  ASSERT_TRUE(timed);
  const auto expected = std::chrono::sys_days{std::chrono::year{2030} / 1 / 2} + 1h + 4min + 5s + 250ms;
  EXPECT_EQ(std::chrono::time_point_cast<std::chrono::milliseconds>(timed->due_at), expected);
  ASSERT_EQ(timed->branches.size(), 2u);
  EXPECT_EQ(timed->branches[1].fields, (nlohmann::json{{"price", 12.5}}));

  auto untimed = store_.find("ORD-N");
  ASSERT_TRUE(untimed);
  EXPECT_GT(untimed->due_at, Clock::now() + kKindTimeout - 1min) << "a NULL due_at falls back to the kind timeout";
}

TEST_F(LegacyLogSourceTest, UnreadableDueAtRejectsTheRow) {
  exec("INSERT INTO order_log (order_no, sku, qty) VALUES ('ORD-D', 'A-1', 1), ('ORD-E', 'A-1', 1)");
  auto config = order_log_config(legacy_.dsn());
  config.query =
      "SELECT order_no AS xid, sku, qty, coupon_id, CASE WHEN order_no = 'ORD-D' THEN 'tomorrow' END AS due_at "
      "FROM order_log";
  LegacyLogSource source(config, kKindTimeout, store_);

  PollResult result = source.poll_once();
  EXPECT_EQ(result.rejected, 1);
  EXPECT_EQ(result.inserted, 1);
  EXPECT_FALSE(store_.find("ORD-D"));
  EXPECT_TRUE(store_.find("ORD-E"));
}

TEST_F(LegacyLogSourceTest, QueryWithoutXidColumnFailsThePoll) {
  log_order("('ORD-1', 'A-1', 2, NULL)");
  auto config = order_log_config(legacy_.dsn());
  config.query = "SELECT order_no, sku, qty, coupon_id FROM order_log";
  LegacyLogSource source(config, kKindTimeout, store_);
  try {
    source.poll_once();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'xid'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_transactions(), 0);
}

TEST_F(LegacyLogSourceTest, MappedColumnMissingFromTheQueryFailsThePoll) {
  log_order("('ORD-1', 'A-1', 2, NULL)");
  auto config = order_log_config(legacy_.dsn());
  config.query = "SELECT order_no AS xid, sku, qty FROM order_log";
  LegacyLogSource source(config, kKindTimeout, store_);
  EXPECT_THROW(source.poll_once(), std::runtime_error);
  EXPECT_EQ(count_transactions(), 0);
}

TEST_F(LegacyLogSourceTest, QueryCannotChangeTheLegacyDatabase) {
  log_order("('ORD-1', 'A-1', 2, NULL)");
  auto config = order_log_config(legacy_.dsn());
  config.query = "UPDATE order_log SET sku = 'changed' RETURNING order_no AS xid, sku, qty, coupon_id";
  LegacyLogSource source(config, kKindTimeout, store_);
  EXPECT_ANY_THROW(source.poll_once());

  auto connection = legacy_.connect();
  pqxx::work tx(connection);
  EXPECT_EQ(tx.exec1("SELECT sku FROM order_log")[0].as<std::string>(), "A-1");
}

TEST_F(LegacyLogSourceTest, UnreachableDatabaseThrowsAndTheNextPollRecovers) {
  log_order("('ORD-1', 'A-1', 2, NULL)");
  auto config = order_log_config("postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=2");
  LegacyLogSource broken(config, kKindTimeout, store_);
  EXPECT_ANY_THROW(broken.poll_once());

  exec("ALTER TABLE order_log RENAME TO order_log_moved");
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);
  EXPECT_ANY_THROW(source.poll_once());
  exec("ALTER TABLE order_log_moved RENAME TO order_log");
  EXPECT_EQ(source.poll_once().inserted, 1);
}

TEST_F(LegacyLogSourceTest, ASilentLegacyHostFailsThePollWithinTheStatementTimeout) {
  compensatord::testing::SilentServer silent;
  auto config = order_log_config(fmt::format("postgresql://nobody@127.0.0.1:{}/legacy", silent.port()));
  config.statement_timeout = 2s;
  LegacyLogSource source(config, kKindTimeout, store_);
  auto poll = std::async(std::launch::async, [&source] { source.poll_once(); });
  const bool gave_up = poll.wait_for(10s) == std::future_status::ready;
  if (!gave_up) silent.close();  // lets a connect without a timeout return, so the test ends
  EXPECT_TRUE(gave_up) << "the connect is bounded (libpq's connect_timeout, 2 s here)";
  EXPECT_ANY_THROW(poll.get());
}

TEST_F(LegacyLogSourceTest, RunPollsAtTheIntervalUntilStopped) {
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);
  std::jthread runner([&source](std::stop_token stop) { source.run(stop); });

  log_order("('ORD-LATE', 'A-1', 2, NULL)");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!store_.find("ORD-LATE") && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(store_.find("ORD-LATE")) << "a row written after start is picked up by a later poll";

  const auto stop_requested = std::chrono::steady_clock::now();
  runner.request_stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_requested, 2s);
}

TEST_F(LegacyLogSourceTest, RunSurvivesDatabaseErrors) {
  auto config = order_log_config(legacy_.dsn());
  config.query = "SELECT order_no AS xid, sku, qty, coupon_id FROM order_log_not_yet";
  LegacyLogSource source(config, kKindTimeout, store_);
  std::jthread runner([&source](std::stop_token stop) { source.run(stop); });
  std::this_thread::sleep_for(150ms);  // a few failing polls
  exec("CREATE TABLE order_log_not_yet AS SELECT * FROM order_log");
  exec("INSERT INTO order_log_not_yet (order_no, sku, qty) VALUES ('ORD-AFTER', 'A-1', 1)");

  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!store_.find("ORD-AFTER") && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(store_.find("ORD-AFTER"));
}

// What the source reported, in order: "polled <inserted>/<rows_seen>" or "failed".
struct RecordingObserver final : SourceObserver {
  std::vector<std::string> reports;
  void polled(std::string_view source, const PollResult& result) override {
    reports.push_back(fmt::format("{} polled {}/{}", source, result.inserted, result.rows_seen));
  }
  void poll_failed(std::string_view source) override { reports.push_back(fmt::format("{} failed", source)); }
};

TEST_F(LegacyLogSourceTest, EveryPollIsReportedWithItsCountsAndAFailedOneAsAFailure) {
  log_order("('ORD-1', 'A-1', 2, NULL), ('ORD-2', 'B-7', 1, NULL)");
  RecordingObserver observer;
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_, observer);
  source.poll();
  exec("ALTER TABLE order_log RENAME TO order_log_moved");
  EXPECT_NO_THROW(source.poll()) << "a failed poll is reported, never thrown";
  exec("ALTER TABLE order_log_moved RENAME TO order_log");
  log_order("('ORD-3', 'A-1', 1, NULL)");
  source.poll();
  EXPECT_EQ(observer.reports,
            (std::vector<std::string>{"old_order_log polled 2/2", "old_order_log failed", "old_order_log polled 1/3"}));
}

TEST_F(LegacyLogSourceTest, ManyRowsAreFetchedInBatches) {
  exec(
      "INSERT INTO order_log (order_no, sku, qty) SELECT 'ORD-' || n, 'A-' || (n % 7), n FROM generate_series(1, 1234) "
      "AS n");
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, store_);
  PollResult result = source.poll_once();
  EXPECT_EQ(result.rows_seen, 1234);
  EXPECT_EQ(result.inserted, 1234);
  EXPECT_EQ(count_transactions(), 1234);
}

TEST_F(LegacyLogSourceTest, ARowWithMoreBranchesThanTheCapIsRefusedWithItsReason) {
  // One column and one mapped participant per possible branch, one more than the cap.
  const std::size_t columns = kMaxBranches + 1;
  std::string create = "CREATE TABLE wide_log (xid text";
  std::string all_set = "'CAP-65'";
  std::string last_null = "'CAP-64'";
  auto config = order_log_config(legacy_.dsn());
  config.query = "SELECT * FROM wide_log ORDER BY xid";
  config.branches.clear();
  for (std::size_t i = 0; i < columns; ++i) {
    create += ", v" + std::to_string(i) + " integer";
    all_set += ", " + std::to_string(i);
    last_null += i + 1 == columns ? ", NULL" : ", " + std::to_string(i);
    config.branches.push_back({"p" + std::to_string(i), {{"n", "v" + std::to_string(i)}}});
  }
  exec(create + ")");
  exec("INSERT INTO wide_log VALUES (" + all_set + "), (" + last_null + ")");
  LegacyLogSource source(config, kKindTimeout, store_);

  testing::LogCapture log;
  const PollResult result = source.poll_once();
  EXPECT_EQ(result.rows_seen, 2);
  EXPECT_EQ(result.inserted, 1);
  EXPECT_EQ(result.rejected, 1);
  const auto accepted = store_.find("CAP-64");
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->branches.size(), kMaxBranches);
  EXPECT_FALSE(store_.find("CAP-65"));
  EXPECT_EQ(count_transactions(), 1);
  const auto logged = log.text();
  EXPECT_NE(logged.find("skipped the row with xid \"CAP-65\": 65 branches, more than the limit of 64 per transaction"),
            std::string::npos)
      << logged;
}

// A legacy row whose branches changed after it was ingested (or an xid the order service already
// began with other branches): the first recording stands, the row is refused, counted and logged.
TEST_F(LegacyLogSourceTest, ARowWhoseXidIsRecordedWithOtherBranchesIsRefusedAndCounted) {
  std::vector<std::string> refused_sources;
  store::PgStore reporting(state_.dsn(), store::PgStoreOptions{.on_ingest_conflict = [&](std::string_view source) {
                             refused_sources.emplace_back(source);
                           }});
  log_order("('ORD-1', 'A-1', 2, 'C-9'), ('ORD-2', 'B-7', 1, NULL)");
  LegacyLogSource source(order_log_config(legacy_.dsn()), kKindTimeout, reporting);
  ASSERT_EQ(source.poll_once().inserted, 2);
  exec("UPDATE order_log SET qty = 3 WHERE order_no = 'ORD-1'");

  testing::LogCapture log("json");
  const PollResult again = source.poll_once();
  EXPECT_EQ(again.rows_seen, 2);
  EXPECT_EQ(again.already_known, 1);
  EXPECT_EQ(again.conflicts, 1);
  EXPECT_EQ(refused_sources, std::vector<std::string>{"legacy:old_order_log"});
  EXPECT_EQ(store_.find("ORD-1")->branches.at(0).fields, (nlohmann::json{{"sku", "A-1"}, {"qty", 2}}));
  const auto lines = log.json_lines();
  const auto refused =
      std::find_if(lines.begin(), lines.end(), [](const auto& line) { return line["component"] == "store"; });
  ASSERT_NE(refused, lines.end()) << log.text();
  EXPECT_EQ((*refused)["level"], "warning");
  EXPECT_EQ((*refused)["xid"], "ORD-1");
  EXPECT_EQ((*refused)["source"], "legacy:old_order_log");
  EXPECT_EQ((*refused)["recorded_by"], "legacy:old_order_log") << "the first poll recorded it";
}

// A database of the test cluster in `encoding` (the legacy systems' SQL_ASCII or LATIN1), dropped
// at the end. Connections to it speak the database's encoding unless told otherwise.
class EncodedDatabase {
 public:
  explicit EncodedDatabase(const std::string& encoding)
      : name_(fmt::format("legacy_{}_{}", ::getpid(), encoding == "SQL_ASCII" ? "ascii" : "latin1")) {
    pqxx::connection admin(testing::cluster_dsn());
    pqxx::nontransaction work(admin);
    work.exec0(fmt::format("DROP DATABASE IF EXISTS {}", name_));
    work.exec0(fmt::format("CREATE DATABASE {} ENCODING '{}' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0", name_,
                           encoding));
    dsn_ = testing::with_database(testing::cluster_dsn(), name_);
  }
  ~EncodedDatabase() {
    try {
      pqxx::connection admin(testing::cluster_dsn());
      pqxx::nontransaction(admin).exec0(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop " << name_ << ": " << e.what();
    }
  }
  EncodedDatabase(const EncodedDatabase&) = delete;
  EncodedDatabase& operator=(const EncodedDatabase&) = delete;

  [[nodiscard]] const std::string& dsn() const { return dsn_; }
  void exec(const std::string& sql) const {
    pqxx::connection connection(dsn_);
    pqxx::work tx(connection);
    tx.exec0(sql);
    tx.commit();
  }

 private:
  std::string name_;
  std::string dsn_;
};

TEST_F(LegacyLogSourceTest, PoisonRowsBetweenGoodRowsAreSkippedCountedAndLoggedByTheirKey) {
  // An SQL_ASCII database stores any bytes and sends them as they are, whatever client_encoding says.
  EncodedDatabase ascii("SQL_ASCII");
  ascii.exec(
      "CREATE TABLE order_log (id serial PRIMARY KEY, order_no text, sku text, qty integer, coupon_id text);"
      "INSERT INTO order_log (order_no, sku, qty) VALUES "
      "('GOOD-1', 'A-1', 1), "
      "(E'BAD-XID-\\xff\\xfe', 'A-1', 1), "              // an xid that is not UTF-8
      "('BAD-SKU', E'A-\\xc3', 1), "                     // a branch field that is not UTF-8 (cut sequence)
      "('x' || repeat(E'\\xc3\\xa9', 150), 'A-1', 1), "  // 301 bytes: more than 256
      "('GOOD-2', 'A-2', 2)");
  LegacyLogSource source(order_log_config(ascii.dsn()), kKindTimeout, store_);

  testing::LogCapture log;
  PollResult result;
  ASSERT_NO_THROW(result = source.poll_once());
  EXPECT_EQ(result.rows_seen, 5);
  EXPECT_EQ(result.inserted, 2);
  EXPECT_EQ(result.rejected, 3);
  EXPECT_TRUE(store_.find("GOOD-1"));
  EXPECT_TRUE(store_.find("GOOD-2"));
  EXPECT_FALSE(store_.find("BAD-SKU"));
  EXPECT_EQ(count_transactions(), 2);

  const auto logged = log.text();
  EXPECT_NE(logged.find("skipped the row with xid \"BAD-XID-\\xff\\xfe\": xid is not valid UTF-8"), std::string::npos)
      << logged;
  EXPECT_NE(logged.find("skipped the row with xid \"BAD-SKU\": column sku is not valid UTF-8"), std::string::npos)
      << logged;
  // The long key is cut to at most 64 bytes between two characters: 'x' and 31 times 'é', then "...".
  std::string cut = "x";
  for (int i = 0; i < 31; ++i) cut += "\xc3\xa9";
  EXPECT_NE(logged.find("skipped the row with xid \"" + cut + "\"...: xid is 301 bytes, more than 256"),
            std::string::npos)
      << logged;
  EXPECT_EQ(logged.find('\xff'), std::string::npos) << "raw bytes of a bad key reached the log";

  // The next poll skips them again, and stores nothing twice.
  const PollResult again = source.poll_once();
  EXPECT_EQ(again.rejected, 3);
  EXPECT_EQ(again.already_known, 2);
}

TEST_F(LegacyLogSourceTest, TextOfALatin1DatabaseArrivesAsUtf8) {
  EncodedDatabase latin1("LATIN1");
  latin1.exec("CREATE TABLE order_log (id serial PRIMARY KEY, order_no text, sku text, qty integer, coupon_id text)");
  {
    pqxx::connection connection(latin1.dsn());
    connection.set_client_encoding("UTF8");  // the server converts these to LATIN1
    pqxx::work tx(connection);
    tx.exec0("INSERT INTO order_log (order_no, sku, qty) VALUES ('ORD-\xc3\xa9', 'cr\xc3\xa8me', 1)");
    tx.commit();
  }
  LegacyLogSource source(order_log_config(latin1.dsn()), kKindTimeout, store_);
  const PollResult result = source.poll_once();
  EXPECT_EQ(result.inserted, 1);
  EXPECT_EQ(result.rejected, 0);
  const auto txn = store_.find("ORD-\xc3\xa9");
  ASSERT_TRUE(txn);
  EXPECT_EQ(txn->branches.at(0).fields.at("sku"), "cr\xc3\xa8me");
}

TEST_F(LegacyLogSourceTest, AQueryRunningPastTheStatementTimeoutFailsThePoll) {
  log_order("('ORD-1', 'A-1', 2, NULL)");
  auto config = order_log_config(legacy_.dsn());
  config.query = "SELECT order_no AS xid, sku, qty, coupon_id FROM order_log, pg_sleep(5)";
  config.statement_timeout = 200ms;
  LegacyLogSource source(config, kKindTimeout, store_);
  const auto started = std::chrono::steady_clock::now();
  try {
    source.poll_once();
    ADD_FAILURE() << "the poll should have been cancelled";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("statement timeout"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_FALSE(store_.find("ORD-1"));

  config.query = "SELECT order_no AS xid, sku, qty, coupon_id FROM order_log";
  LegacyLogSource quick(config, kKindTimeout, store_);
  EXPECT_EQ(quick.poll_once().inserted, 1);
}

TEST_F(LegacyLogSourceTest, AConnectionErrorNeverShowsThePassword) {
  const std::string secret = "Pw-d1st1nct-9f3k";
  for (const auto& dsn : {"postgresql://reader:" + secret + "@[::1/shop",
                          "postgresql://reader:" + secret + "@127.0.0.1:1/shop?connect_timeout=2",
                          "host=127.0.0.1 port=1 user=reader password=" + secret + " connect_timeout=2",
                          "host=127.0.0.1 port=1 password='" + secret + " dbname=shop"}) {
    LegacyLogSource source(order_log_config(dsn), kKindTimeout, store_);
    try {
      source.poll_once();
      ADD_FAILURE() << "connecting should fail: " << dsn;
    } catch (const std::exception& e) {
      EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
    }
  }

  testing::LogCapture log;
  LegacyLogSource source(order_log_config("postgresql://reader:" + secret + "@[::1/shop"), kKindTimeout, store_);
  {
    std::jthread runner([&source](std::stop_token stop) { source.run(stop); });
    std::this_thread::sleep_for(200ms);
  }
  const auto logged = log.text();
  EXPECT_NE(logged.find("poll failed"), std::string::npos) << logged;
  EXPECT_EQ(logged.find(secret), std::string::npos) << logged;
}

}  // namespace
}  // namespace compensatord::sources
