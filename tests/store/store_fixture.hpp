#pragma once
// A migrated fresh database and a PgStore on it, plus helpers to arrange rows and read them back.

#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace compensatord::store::testing {

using namespace std::chrono_literals;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { migrate(db_.dsn()); }

  // One row as text, for assertions on columns the Store interface does not expose.
  pqxx::row row(const std::string& sql, const std::string& xid) {
    pqxx::work work(connection_);
    return work.exec_params1(sql, xid);
  }

  void exec(const std::string& sql) {
    pqxx::work work(connection_);
    work.exec(sql);
    work.commit();
  }

  static NewTransaction transaction(std::string xid, TimePoint due_at = Clock::now() - 1s,
                                    std::vector<NewBranch> branches = default_branches()) {
    return NewTransaction{std::move(xid), "order", "pending_log", std::move(branches), due_at};
  }

  static std::vector<NewBranch> default_branches() {
    return {{"stock", {{"sku", "A-1"}, {"qty", 2}}}, {"coupon", {{"coupon_id", "C-9"}}}};
  }

  // The lease on the row now (owner and token); empty when there is none or no such row.
  Lease held(const std::string& xid) {
    pqxx::work work(connection_);
    const auto rows = work.exec_params(
        "SELECT coalesce(lease_owner, ''), coalesce(lease_token, 0) FROM compensatord.transactions WHERE xid = $1",
        xid);
    if (rows.empty()) return {};
    return {rows[0][0].as<std::string>(), rows[0][1].as<std::int64_t>()};
  }

  // The lease `owner` presents: the row's current token under `owner`'s name. It holds when
  // `owner` is the one that claimed the row last.
  Lease lease_as(const std::string& owner, const std::string& xid) { return {owner, held(xid).token}; }

  // A write-back by `owner` that found the row in `expected_status` and leaves it in `status`.
  WriteBack write_back_for(std::string xid, const std::string& owner, Status expected_status, Status status,
                           int attempt_count) {
    WriteBack result;
    result.lease = lease_as(owner, xid);
    result.xid = std::move(xid);
    result.expected_status = expected_status;
    result.status = status;
    result.attempt_count = attempt_count;
    return result;
  }

  // Ingests `xid` due in the past and claims it for `owner`.
  Transaction ingest_and_claim(const std::string& xid, const std::string& owner,
                               std::chrono::milliseconds lease = 60s) {
    EXPECT_EQ(store_.ingest(transaction(xid)), IngestResult::Inserted);
    auto claimed = store_.claim_due({owner, 1000, lease});
    for (auto& t : claimed) {
      if (t.xid == xid) return t;
    }
    ADD_FAILURE() << "could not claim " << xid;
    return {};
  }

  compensatord::testing::TestDatabase db_;
  pqxx::connection connection_{db_.dsn()};
  PgStore store_{db_.dsn(), PgStoreOptions{8, 10s}};
};

}  // namespace compensatord::store::testing
