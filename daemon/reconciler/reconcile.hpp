#pragma once
// One reconcile of one claimed transaction: check, decide once, run the decided action on
// every branch not yet acknowledged, and write the result back under the lease. Like a
// controller-runtime reconcile it returns a result; failures requeue with backoff.

#include "reconciler/context.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace compensatord::reconciler {

enum class ReconcileResult {
  Finished,   // every branch acknowledged: CONFIRMED or CANCELLED
  Requeued,   // something to try again after a backoff
  Parked,     // needs a human
  LeaseLost,  // the lease is lost, or too close to its end to start a call: only attempts written
};

// Whether the lease on the transaction surely lasts at least `needed` more (LeaseKeeper::holds_for).
using LeaseCheck = std::function<bool(std::chrono::milliseconds needed)>;

std::string_view to_string(ReconcileResult r);

// Where one reconcile's time went: the check, the decision's write, recording the calls as
// started, the participants' calls and the write-back (the writes include waiting for a batch, the
// calls waiting for a free slot). Stages not reached stay empty.
struct StageTimes {
  std::optional<std::chrono::duration<double>> check;
  std::optional<std::chrono::duration<double>> decide;
  std::optional<std::chrono::duration<double>> start_calls;
  std::optional<std::chrono::duration<double>> calls;
  std::optional<std::chrono::duration<double>> write_back;
};

// One participant call of a reconcile, typed (the trail's Attempt holds the same as text).
struct CallReport {
  int branch_no = 0;
  Decision action = Decision::Cancel;
  Outcome outcome = Outcome::Retry;
  std::chrono::milliseconds latency{0};
};

struct ReconcileReport {
  ReconcileResult result = ReconcileResult::Requeued;
  Status status = Status::Pending;
  std::optional<Decision> decision;
  bool decided_now = false;       // this reconcile took the decision
  std::string error;              // last error, when requeued or parked
  std::vector<CallReport> calls;  // the calls made (an action a participant does not define is no call)
  StageTimes stages;
};

class TransactionReconciler {
 public:
  TransactionReconciler(store::LeaseStore& store, std::shared_ptr<const ReconcileContext> context, std::string replica);

  // Store errors propagate (the caller releases the lease); participant and check
  // errors never do: they become requeues or parks. No check or call starts unless
  // `lease_held` says the lease outlasts it. One reconcile uses the context in force when it
  // starts, to its end, whatever use_context() does meanwhile.
  ReconcileReport reconcile(Transaction txn, const LeaseCheck& lease_held);

  // The context later reconciles use (a config reload). The one replaced lives on until the
  // reconciles running with it are done.
  void use_context(std::shared_ptr<const ReconcileContext> context);
  [[nodiscard]] std::shared_ptr<const ReconcileContext> context() const;

 private:
  struct ActionRun;
  struct BranchTarget {
    const Branch* branch;
    adapters::Participant* participant;
  };
  // Calls recorded in the trail as started, ready to send: one attempt id per target.
  struct Started {
    std::vector<BranchTarget> targets;
    std::vector<std::int64_t> attempt_ids;
  };

  store::WriteBack begin_write_back(const Transaction& txn) const;
  bool check_and_decide(const ReconcileContext& context, Transaction& txn, const KindRuntime& kind,
                        const LeaseCheck& lease_held, store::WriteBack& wb, ReconcileReport& report,
                        std::optional<Started>& started);
  bool decide(const ReconcileContext& context, Transaction& txn, Decision wanted, Attempt check,
              const LeaseCheck& lease_held, store::WriteBack& wb, ReconcileReport& report,
              std::optional<Started>& started);
  void run_actions(const ReconcileContext& context, const Transaction& txn, const LeaseCheck& lease_held,
                   store::WriteBack& wb, ReconcileReport& report, std::optional<Started> started);
  std::optional<Started> start_calls(const ReconcileContext& context, const Transaction& txn,
                                     const LeaseCheck& lease_held, store::WriteBack& wb, ReconcileReport& report);
  static std::optional<std::vector<BranchTarget>> callable_targets(const ReconcileContext& context,
                                                                   const Transaction& txn);
  static std::string unknown_participant(const ReconcileContext& context, const Transaction& txn);
  static std::chrono::milliseconds calls_need(const std::vector<BranchTarget>& targets);
  std::vector<Attempt> started_calls(const Transaction& txn, Decision decision,
                                     const std::vector<BranchTarget>& targets) const;
  std::vector<ActionRun> call_branches(const Transaction& txn, Decision decision,
                                       const std::vector<BranchTarget>& targets,
                                       const std::vector<std::int64_t>& attempt_ids);
  void record_actions(const Transaction& txn, Decision decision, std::vector<ActionRun> runs, store::WriteBack& wb,
                      ReconcileReport& report);
  static void defer(store::WriteBack& wb, ReconcileReport& report, std::string why);
  void requeue_or_park(const Transaction& txn, const RetryPolicy& policy, store::WriteBack& wb,
                       ReconcileReport& report);
  static void park(store::WriteBack& wb, ReconcileReport& report, std::string reason);
  double unit_random();

  store::LeaseStore& store_;
  mutable std::mutex context_mutex_;
  std::shared_ptr<const ReconcileContext> context_;
  std::string replica_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

}  // namespace compensatord::reconciler
