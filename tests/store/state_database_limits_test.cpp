// Every wait on the state database is bounded (PgStoreOptions::limits, database.* in the config): a
// row lock the order service holds, a statement that runs too long, a server that never answers.
// A store call that waits longer fails with a StoreError that says why, and the next call works.
#include "store_fixture.hpp"
#include "support/silent_server.hpp"

#include <fmt/format.h>

#include <future>

namespace compensatord::store::testing {
namespace {

using compensatord::testing::SilentServer;

// How long past a timeout a call may take to give up: scheduling on a loaded 2-core machine.
constexpr auto kSlack = 3s;

struct Timed {
  std::string error;  // empty when the call succeeded
  std::chrono::milliseconds elapsed{0};
};

// Runs `call` on a thread and waits at most `bound` for it. When it has not returned by then,
// `unblock` is run so that it does (and the test can end), and the result says so.
template <typename Call, typename Unblock>
Timed run_bounded(Call call, std::chrono::milliseconds bound, Unblock unblock) {
  const auto started = std::chrono::steady_clock::now();
  auto future = std::async(std::launch::async, [&] {
    try {
      call();
    } catch (const StoreError& e) {
      return std::string(e.what());
    }
    return std::string();
  });
  const bool returned = future.wait_for(bound) == std::future_status::ready;
  if (!returned) unblock();
  Timed timed{future.get(),
              std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)};
  if (!returned)
    timed.error = fmt::format("still waiting after {} ms (then unblocked: {})", bound.count(), timed.error);
  return timed;
}

class StateDatabaseLimitsTest : public StoreTest {
 protected:
  // A store with short limits, as database.* would configure them.
  PgStore limited_{db_.dsn(),
                   PgStoreOptions{.pool_size = 2,
                                  .limits = {.connect_timeout = 2s, .statement_timeout = 2s, .lock_timeout = 500ms}}};
};

// The order service's local order transaction holds the row (commit_transaction, or a SELECT ...
// FOR UPDATE) and does not end: decide and write-back wait for the lock no longer than lock_timeout.
TEST_F(StateDatabaseLimitsTest, AStoreCallOnARowLockedByAnotherSessionFailsWithinTheLockTimeout) {
  ingest_and_claim("ORD-1", "replica-a");
  const Lease lease = held("ORD-1");
  pqxx::connection order_db(db_.dsn());
  pqxx::work order_transaction(order_db);
  order_transaction.exec1("SELECT 1 FROM compensatord.transactions WHERE xid = 'ORD-1' FOR UPDATE");

  const auto decided = run_bounded([&] { limited_.decide("ORD-1", lease, Decision::Cancel); }, 500ms + kSlack,
                                   [&] { order_transaction.abort(); });
  EXPECT_NE(decided.error.find("decide \"ORD-1\": "), std::string::npos) << decided.error;
  EXPECT_NE(decided.error.find("lock timeout"), std::string::npos) << decided.error;
  EXPECT_GE(decided.elapsed, 450ms);
  auto result = write_back_for("ORD-1", "replica-a", Status::Pending, Status::Pending, 1);
  const auto written =
      run_bounded([&] { limited_.write_back(result); }, 500ms + kSlack, [&] { order_transaction.abort(); });
  EXPECT_NE(written.error.find("lock timeout"), std::string::npos) << written.error;

  // Nothing changed, and once the order transaction ends the same store decides at once.
  if (!decided.error.starts_with("still waiting")) order_transaction.abort();
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Pending);
  EXPECT_TRUE(limited_.decide("ORD-1", lease, Decision::Cancel).decided_by_us);
}

TEST_F(StateDatabaseLimitsTest, AStatementLongerThanTheStatementTimeoutFails) {
  PgStore store(db_.dsn(), PgStoreOptions{.pool_size = 1, .limits = {.statement_timeout = 300ms, .lock_timeout = 0ms}});
  ASSERT_EQ(store.ingest(transaction("ORD-1")), IngestResult::Inserted);
  // A table lock (a migration, an operator's VACUUM FULL) with no lock timeout: the statement timeout ends it.
  pqxx::connection other(db_.dsn());
  pqxx::work holder(other);
  holder.exec0("LOCK TABLE compensatord.transactions IN ACCESS EXCLUSIVE MODE");
  const auto counted = run_bounded([&] { store.count_due(); }, 300ms + kSlack, [&] { holder.abort(); });
  EXPECT_NE(counted.error.find("count_due: "), std::string::npos) << counted.error;
  EXPECT_NE(counted.error.find("statement timeout"), std::string::npos) << counted.error;
  if (!counted.error.starts_with("still waiting")) holder.abort();
  EXPECT_EQ(store.count_due(), 1);
}

// A host that takes the TCP connection and never answers: without connect_timeout libpq waits
// for the server's first byte forever.
TEST_F(StateDatabaseLimitsTest, ConnectTimeoutIsHonouredAgainstAServerThatNeverAnswers) {
  SilentServer silent;
  const std::string dsn = fmt::format("postgresql://compensatord:s3cret@127.0.0.1:{}/state", silent.port());
  PgStore store(dsn, PgStoreOptions{.pool_size = 1, .limits = {.connect_timeout = 2s}});
  const auto call = run_bounded([&] { store.count_due(); }, 2s + kSlack, [&] { silent.close(); });
  EXPECT_NE(call.error.find("count_due: cannot connect to PostgreSQL at postgresql://compensatord:***@127.0.0.1"),
            std::string::npos)
      << call.error;
  EXPECT_NE(call.error.find("timeout expired"), std::string::npos) << call.error;
  EXPECT_EQ(call.error.find("s3cret"), std::string::npos) << call.error;
  EXPECT_GE(call.elapsed, 1900ms);

  // Migrations too (they have no statement or lock timeout, but they do connect).
  SilentServer another;
  const auto migrating =
      run_bounded([&] { migrate(fmt::format("host=127.0.0.1 port={} dbname=state user=x", another.port()), 2s); },
                  2s + kSlack, [&] { another.close(); });
  EXPECT_NE(migrating.error.find("timeout expired"), std::string::npos) << migrating.error;
}

// The configured connect_timeout is added to the DSN, whatever its form; one of the DSN's own is kept.
TEST_F(StateDatabaseLimitsTest, TheConnectTimeoutIsAddedToAnyDsnUnlessItSetsOne) {
  EXPECT_EQ(with_connect_timeout("postgresql://u@h/db?connect_timeout=7", 2s), "postgresql://u@h/db?connect_timeout=7");
  EXPECT_EQ(with_connect_timeout("host=h connect_timeout=7", 2s), "host=h connect_timeout=7");
  // Rounded up to libpq's whole seconds; quotes and backslashes of values stay escaped.
  const auto rebuilt = with_connect_timeout("postgresql://u:p%27w%5C@h:5433/db?sslmode=disable", 2500ms);
  EXPECT_TRUE(rebuilt.ends_with(" connect_timeout=3")) << rebuilt;
  EXPECT_NE(rebuilt.find("password='p\\'w\\\\'"), std::string::npos) << rebuilt;
  EXPECT_NE(rebuilt.find("port='5433'"), std::string::npos) << rebuilt;
  EXPECT_NE(rebuilt.find("sslmode='disable'"), std::string::npos) << rebuilt;
  EXPECT_TRUE(with_connect_timeout("host=h", 1ms).ends_with(" connect_timeout=1"));
  // The test database's own DSN, rebuilt, still reaches it.
  pqxx::connection rebuilt_connection(with_connect_timeout(db_.dsn(), 5s));
  pqxx::nontransaction work(rebuilt_connection);
  EXPECT_EQ(work.exec1("SELECT current_database()")[0].as<std::string>(), db_.name());
  // Malformed: passed on untouched, so that connecting reports libpq's own error.
  EXPECT_EQ(with_connect_timeout("host=h bogus", 2s), "host=h bogus");
  EXPECT_EQ(with_connect_timeout("host='unterminated", 2s), "host='unterminated");
}

}  // namespace
}  // namespace compensatord::store::testing
