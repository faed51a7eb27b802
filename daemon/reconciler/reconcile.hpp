#pragma once
// One reconcile of one claimed transaction: check, decide once, run the decided action on
// every branch not yet acknowledged, and write the result back under the lease. Like a
// controller-runtime reconcile it returns a result; failures requeue with backoff.

#include "reconciler/context.hpp"
#include "store/store.hpp"

#include <mutex>
#include <random>
#include <string>

namespace compensatord::reconciler {

enum class ReconcileResult {
  Finished,   // every branch acknowledged: CONFIRMED or CANCELLED
  Requeued,   // something to try again after a backoff
  Parked,     // needs a human
  LeaseLost,  // another replica owns the row now; nothing written
};

std::string_view to_string(ReconcileResult r);

struct ReconcileReport {
  ReconcileResult result = ReconcileResult::Requeued;
  Status status = Status::Pending;
  std::optional<Decision> decision;
  bool decided_now = false;       // this reconcile took the decision
  std::string error;              // last error, when requeued or parked
  std::vector<Attempt> attempts;  // this reconcile's checks and actions, as written to the audit trail
};

class TransactionReconciler {
 public:
  TransactionReconciler(store::Store& store, const ReconcileContext& context, std::string replica);

  // Store errors propagate (the caller releases the lease); participant and check
  // errors never do: they become requeues or parks.
  ReconcileReport reconcile(Transaction txn);

 private:
  struct ActionRun;

  store::WriteBack begin_write_back(const Transaction& txn) const;
  bool check_and_decide(Transaction& txn, const KindRuntime& kind, store::WriteBack& wb, ReconcileReport& report);
  void run_actions(const Transaction& txn, store::WriteBack& wb, ReconcileReport& report);
  void requeue_or_park(const Transaction& txn, const config::RetryPolicy& policy, store::WriteBack& wb,
                       ReconcileReport& report);
  static void park(store::WriteBack& wb, ReconcileReport& report, std::string reason);
  double unit_random();

  store::Store& store_;
  const ReconcileContext& context_;
  std::string replica_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

}  // namespace compensatord::reconciler
