#pragma once
// Every store role (store.hpp, admin_store.hpp) on PostgreSQL (schema: store/migrations/*.sql). Thread-safe: any number
// of reconciler workers share one PgStore and its connection pool. Every method throws StoreError on a database failure
// or on input the database refuses.
//
// Details callers rely on:
// - claim_due: lease_taken_over is true when the row still carried another owner's (expired) lease.
// - renew and release present one owner: that of the first lease; every lease must name it.
// - decide: an unknown xid reports lease_lost (there is nothing left to work on).
// - write_back: WriteBack::expected_status must be the status the row has under the caller's lease
//   (the claimed status, or the status decide() returned). If the row is in another status (the
//   order service committed it meanwhile), status and parked reason are kept, the row is due at
//   once, and diagnostics, branch updates and attempts are still written. Errors, request
//   summaries and other diagnostics are stored with invalid UTF-8 and NUL replaced by U+FFFD.
// - count_by_status: one entry per Status, zeros included.
// - ingest, ingest_batch: a transaction with more than kMaxBranches branches is refused (StoreError
//   naming the limit and the count); in a batch, one refused transaction refuses the whole batch
//   before the database is touched. ingest_batch inserts in xid order, so two concurrent batches
//   never deadlock on each other's rows. A Conflict (0006_ingest_conflicts.sql) is logged with the
//   xid and both sources, and reported to PgStoreOptions::on_ingest_conflict; the rest of its
//   batch is stored.
// - every connection runs under PgStoreOptions::limits: a statement that waits on a lock longer
//   than the lock timeout, or runs longer than the statement timeout, fails with a StoreError.

#include "store/admin_store.hpp"
#include "store/conninfo.hpp"
#include "store/store.hpp"
#include "store/store_error.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::store {

class ConnectionPool;

struct PgStoreOptions {
  std::size_t pool_size = 4;
  std::chrono::milliseconds acquire_timeout{std::chrono::seconds(30)};
  ConnectionLimits limits = {};
  // Called with the refused transaction's source (e.g. "kafka:orders") for each ingest refused as a
  // Conflict, once its database transaction committed; from the ingesting thread.
  std::function<void(std::string_view source)> on_ingest_conflict = [](std::string_view) {};
};

class PgStore final : public IngestStore, public LeaseStore, public ReadStore, public AdminStore {
 public:
  // Connects lazily: the first call that needs a connection opens it.
  explicit PgStore(std::string dsn, PgStoreOptions options = {});
  ~PgStore() override;
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  // Applies missing schema migrations (see migrations.hpp); returns the versions applied now.
  std::vector<int> migrate();

  IngestResult ingest(const NewTransaction& txn) override;
  std::vector<IngestResult> ingest_batch(const std::vector<NewTransaction>& txns) override;
  std::vector<Transaction> claim_due(const ClaimRequest& request) override;
  std::vector<DecideResult> decide_all(const std::vector<DecideRequest>& requests) override;
  std::vector<StartedCalls> start_calls_all(const std::vector<CallsStart>& requests) override;
  std::vector<bool> write_back_all(const std::vector<WriteBack>& results) override;
  std::vector<std::string> renew(const std::vector<LeasedXid>& leases, std::chrono::milliseconds lease) override;
  void release(const std::vector<LeasedXid>& leases) override;
  std::optional<Transaction> find(const std::string& xid) override;
  std::vector<Attempt> attempts(const std::string& xid) override;
  std::vector<StatusCount> count_by_status() override;
  long long count_due() override;
  ActionResult retry(const AdminRequest& request) override;
  DecideByHandResult decide_by_hand(const AdminRequest& request, Decision decision) override;
  ActionResult abandon(const AdminRequest& request) override;
  TransactionPage list(const ListFilter& filter) override;
  AttemptPage attempt_page(const std::string& xid, std::int64_t after_id, int limit) override;
  std::vector<AdminAction> admin_actions(const std::string& xid) override;

  // Reads one entry of the partial index transactions_due.
  std::chrono::milliseconds oldest_due_age() override;
  int schema_version() override;

 private:
  std::string dsn_;
  PgStoreOptions options_;
  std::unique_ptr<ConnectionPool> pool_;
};

// The statement claim_due runs, for EXPLAIN in tests and in operations:
// $1 owner, $2 limit, $3 lease in milliseconds, $4 excluded xids (a JSON array).
std::string_view claim_due_sql();
// The statement list runs: $1 after, $2 status, $3 kind, $4 source, $5 older_than in milliseconds
// ('' or 0: any), $6 limit; with `by_participant`, also $7 participant.
std::string_view list_sql(bool by_participant);

}  // namespace compensatord::store
