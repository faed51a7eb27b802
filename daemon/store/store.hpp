#pragma once
// The store: compensatord's durable state (transactions, branches, attempts) in PostgreSQL.
// Status lives here, not in memory (the controller-runtime contract): every replica works
// only on rows it holds a lease on, and every write is guarded by that lease.

#include "model/attempt.hpp"
#include "model/transaction.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace compensatord::store {

struct NewBranch {
  std::string participant;
  nlohmann::json fields = nlohmann::json::object();
};

struct NewTransaction {
  std::string xid;
  std::string kind;
  std::string source;
  std::vector<NewBranch> branches;
  TimePoint due_at;
};

// Conflict: the xid is recorded with other branches (the same ones in another order are the same);
// the ingest is refused and the recorded transaction stands. The first writer of an xid wins.
enum class IngestResult { Inserted, AlreadyKnown, Conflict };

struct ClaimRequest {
  std::string owner;  // replica id
  int limit = 100;
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  std::vector<std::string> exclude = {};  // xids this replica still has in flight: never claimed again
};

// A claim's proof of ownership: the replica and the fencing token the claim stamped on the row.
// Every later write presents it and finds the lease unexpired, or changes nothing.
struct Lease {
  std::string owner;
  std::int64_t token = 0;
};

// The lease a claim returned with `txn`.
inline Lease lease_of(const Transaction& txn) { return {txn.lease_owner, txn.lease_token}; }

struct LeasedXid {
  std::string xid;
  Lease lease;
};

struct DecideRequest {
  std::string xid;
  Lease lease;
  Decision decision = Decision::Cancel;
  // The calls this decision leads to (as in CallsStart), recorded as started by the same statement
  // when, and only when, this compare-and-set wins: a decided transaction's calls need no round
  // trip of their own. Empty: record none.
  std::vector<Attempt> calls = {};
  // The check whose verdict asks for this decision, recorded (before the calls) by the same
  // statement when, and only when, this compare-and-set wins: a decision is never in the store
  // without the evidence it was taken on. Not recorded otherwise: the caller writes it back.
  std::optional<Attempt> check = std::nullopt;
};

// Result of the compare-and-set decision.
struct DecideResult {
  bool lease_lost = false;           // another replica holds the row now: drop it
  bool decided_by_us = false;        // our CAS won
  std::optional<Decision> decision;  // the decision in force (ours or the earlier one)
  Status status = Status::Pending;   // status after the attempt
  // When our CAS won: the trail's rows of the request's calls, in their order. Otherwise empty,
  // and none of them is recorded.
  std::vector<std::int64_t> attempt_ids = {};
};

// The participant calls one reconcile is about to make, recorded in the audit trail before any is
// sent: a call is evidence even if this replica dies before its answer is written back.
struct CallsStart {
  std::string xid;
  Lease lease;
  std::vector<Attempt> calls;  // one per branch to call: branch_no, action, replica, started_at
};

struct StartedCalls {
  bool lease_lost = false;                // nothing recorded: no call may be sent
  std::vector<std::int64_t> attempt_ids;  // the trail's rows, in the order of the calls
};

struct BranchUpdate {
  int no = 0;
  BranchStatus status = BranchStatus::Waiting;
  std::optional<Outcome> outcome;
  std::string error;
  std::optional<int> http_status;
};

// Everything one reconcile of one transaction writes back, in one database transaction.
struct WriteBack {
  std::string xid;
  Lease lease;
  // The status this reconcile acted on. The order service may move a PENDING row to
  // COMMITTED while we hold the lease; then the new status is not applied (the row is
  // made due now, so the next reconcile sees the commit) but attempts are still recorded.
  Status expected_status = Status::Pending;
  Status status = Status::Pending;             // new status
  int attempt_count = 0;                       // new transaction-level attempt count
  std::chrono::milliseconds requeue_after{0};  // next_attempt_at = now() + this (ignored when terminal/parked)
  std::string last_error;
  std::optional<int> last_http_status;
  std::string parked_reason;           // set when status is PARKED
  std::vector<BranchUpdate> branches;  // only the branches that were tried
  // Appended to the audit trail; one with an id completes that started call (see start_calls_all).
  std::vector<Attempt> attempts;
};

// Counts per status, for metrics and the demo's progress.
struct StatusCount {
  Status status;
  long long count = 0;
};

// The store by role: a caller takes the slice it uses, a test fake implements only that slice.
// PgStore implements every one (and AdminStore, admin_store.hpp).

// What a source needs: storing transactions, idempotently.
class IngestStore {
 public:
  virtual ~IngestStore() = default;

  // Idempotent: the same xid ingested twice (or from two sources) is one transaction;
  // the second ingest changes nothing (AlreadyKnown, or Conflict when its branches differ from the
  // recorded ones). A transaction may carry at most kMaxBranches branches.
  virtual IngestResult ingest(const NewTransaction& txn) = 0;

  // ingest() for many transactions: one result per input, in input order; an xid repeated in
  // `txns` is AlreadyKnown (or Conflict) after its first occurrence. PgStore stores the whole batch in one
  // database transaction (all or nothing); this default, for stores without one, ingests each.
  virtual std::vector<IngestResult> ingest_batch(const std::vector<NewTransaction>& txns) {
    std::vector<IngestResult> results;
    results.reserve(txns.size());
    for (const auto& txn : txns) results.push_back(ingest(txn));
    return results;
  }
};

// What the reconciler needs: claims under leases, and every write fenced by one.
class LeaseStore {
 public:
  virtual ~LeaseStore() = default;

  // Claims up to `limit` due, unfinished, unleased transactions with FOR UPDATE SKIP LOCKED,
  // sets the lease and returns them with their branches.
  virtual std::vector<Transaction> claim_due(const ClaimRequest& request) = 0;

  // Compare-and-set from PENDING to CONFIRMING/CANCELLING of each request, each guarded by its
  // lease, in one database transaction, with the calls of each one won recorded as started;
  // results in the order of `requests`. A transaction the order service moved to COMMITTED
  // reports decision confirm (and records none of the request's calls).
  virtual std::vector<DecideResult> decide_all(const std::vector<DecideRequest>& requests) = 0;
  DecideResult decide(const std::string& xid, const Lease& lease, Decision decision) {
    return decide_all({DecideRequest{xid, lease, decision}}).front();
  }

  // Records each request's calls as started attempts if its lease still holds (by the database's
  // clock), in one database transaction; results in the order of `requests`. A request whose lease
  // is lost records nothing and must send nothing.
  virtual std::vector<StartedCalls> start_calls_all(const std::vector<CallsStart>& requests) = 0;
  StartedCalls start_calls(const CallsStart& request) { return start_calls_all({request}).front(); }

  // Applies reconciles' results and releases their leases, in one database transaction; one
  // flag per result, in order: false when that lease was lost, and then only its attempts are
  // written (a call that happened is evidence), nothing else of it.
  virtual std::vector<bool> write_back_all(const std::vector<WriteBack>& results) = 0;
  bool write_back(const WriteBack& result) { return write_back_all({result}).front(); }

  // Extends the leases of work still in flight to now + `lease`. Returns the xids whose lease
  // was lost (expired, or taken over by another replica): their work must not go on.
  virtual std::vector<std::string> renew(const std::vector<LeasedXid>& leases, std::chrono::milliseconds lease) = 0;

  // Gives claimed rows back without counting an attempt (shutdown, a lease that cannot be renewed).
  virtual void release(const std::vector<LeasedXid>& leases) = 0;
};

// What readers need: the API, the gauges and the probes.
class ReadStore {
 public:
  virtual ~ReadStore() = default;

  virtual std::optional<Transaction> find(const std::string& xid) = 0;
  virtual std::vector<Attempt> attempts(const std::string& xid) = 0;
  virtual std::vector<StatusCount> count_by_status() = 0;
  // Transactions due now and not finished (PENDING past due, COMMITTED, CONFIRMING, CANCELLING).
  virtual long long count_due() = 0;
  // How long the oldest due, unclaimed transaction has waited since its next_attempt_at; zero
  // when nothing is due.
  virtual std::chrono::milliseconds oldest_due_age() = 0;
  // The highest applied schema migration version; 0 when none is (for readiness).
  virtual int schema_version() = 0;
};

}  // namespace compensatord::store
