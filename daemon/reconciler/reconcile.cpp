#include "reconciler/reconcile.hpp"

#include "reconciler/backoff.hpp"

#include <fmt/format.h>

#include <future>
#include <utility>

namespace compensatord::reconciler {

std::string_view to_string(ReconcileResult r) {
  switch (r) {
    case ReconcileResult::Finished:
      return "finished";
    case ReconcileResult::Requeued:
      return "requeued";
    case ReconcileResult::Parked:
      return "parked";
    case ReconcileResult::LeaseLost:
      return "lease_lost";
  }
  return "?";
}

namespace {

Status in_progress_status(Decision d) { return d == Decision::Confirm ? Status::Confirming : Status::Cancelling; }
Status finished_status(Decision d) { return d == Decision::Confirm ? Status::Confirmed : Status::Cancelled; }

bool awaits_actions(Status s) { return s == Status::Committed || s == Status::Confirming || s == Status::Cancelling; }

Attempt check_attempt(const Transaction& txn, const std::string& replica, TimePoint started,
                      const check::CheckResult& r) {
  return Attempt{
      txn.xid,       std::nullopt, "check", replica, started, r.request_summary, std::string(to_string(r.verdict)),
      r.http_status, r.latency,    r.error};
}

}  // namespace

struct TransactionReconciler::ActionRun {
  int branch_no = 0;
  TimePoint started_at;
  adapters::ActionResult result;
};

TransactionReconciler::TransactionReconciler(store::Store& store, const ReconcileContext& context, std::string replica)
    : store_(store), context_(context), replica_(std::move(replica)), random_(std::random_device{}()) {}

ReconcileReport TransactionReconciler::reconcile(Transaction txn) {
  ReconcileReport report;
  store::WriteBack wb = begin_write_back(txn);
  auto kind = context_.kinds.find(txn.kind);
  if (kind == context_.kinds.end()) {
    park(wb, report, fmt::format("unknown kind '{}': not in the config's kinds", txn.kind));
  } else {
    const bool decided = txn.status != Status::Pending || check_and_decide(txn, kind->second, wb, report);
    if (report.result == ReconcileResult::LeaseLost) return report;
    if (decided && awaits_actions(txn.status) && txn.decision) {
      run_actions(txn, wb, report);
    } else if (decided) {
      park(wb, report, fmt::format("claimed in status {} without a decision", to_string(txn.status)));
    }
    if (report.result == ReconcileResult::Requeued) requeue_or_park(txn, kind->second.retry, wb, report);
  }
  report.status = wb.status;
  report.decision = txn.decision;
  report.attempts = wb.attempts;
  if (!store_.write_back(wb)) report.result = ReconcileResult::LeaseLost;
  return report;
}

store::WriteBack TransactionReconciler::begin_write_back(const Transaction& txn) const {
  store::WriteBack wb;
  wb.xid = txn.xid;
  wb.owner = replica_;
  wb.expected_status = txn.status;
  wb.status = txn.status;
  wb.attempt_count = txn.attempt_count;
  wb.last_error = txn.last_error;
  wb.last_http_status = txn.last_http_status;
  return wb;
}

// Returns true when the transaction is decided (by us or, racing us, by the order service);
// false when the check was inconclusive (report.error says why) or the lease was lost.
bool TransactionReconciler::check_and_decide(Transaction& txn, const KindRuntime& kind, store::WriteBack& wb,
                                             ReconcileReport& report) {
  const TimePoint started = Clock::now();
  check::CheckResult checked = kind.check->run(txn);
  wb.attempts.push_back(check_attempt(txn, replica_, started, checked));
  if (checked.verdict == CheckVerdict::Unknown) {
    report.error = fmt::format("check inconclusive: {}", checked.error);
    wb.last_http_status = checked.http_status;
    return false;
  }
  const Decision wanted = checked.verdict == CheckVerdict::Committed ? Decision::Confirm : Decision::Cancel;
  store::DecideResult decided = store_.decide(txn.xid, replica_, wanted);
  if (decided.lease_lost) {
    report.result = ReconcileResult::LeaseLost;
    return false;
  }
  report.decided_now = decided.decided_by_us;
  txn.status = decided.status;
  txn.decision = decided.decision;
  wb.expected_status = decided.status;
  wb.status = decided.status;
  if (!txn.decision || !awaits_actions(txn.status)) {
    report.error = fmt::format("decision not taken: status is {}", to_string(txn.status));
    return false;
  }
  return true;
}

void TransactionReconciler::run_actions(const Transaction& txn, store::WriteBack& wb, ReconcileReport& report) {
  const Decision decision = *txn.decision;
  std::vector<std::future<ActionRun>> runs;
  for (const Branch& branch : txn.branches) {
    if (branch.status != BranchStatus::Waiting) continue;
    auto participant = context_.participants.find(branch.participant);
    if (participant == context_.participants.end()) {
      park(wb, report, fmt::format("branch {}: unknown participant '{}'", branch.no, branch.participant));
      return;
    }
    adapters::Participant& target = *participant->second;
    runs.push_back(std::async(std::launch::async, [&txn, &branch, &target, decision] {
      ActionRun run{branch.no, Clock::now(), {}};
      try {
        run.result = target.run(decision, txn, branch);
      } catch (const std::exception& e) {
        run.result.outcome = Outcome::Retry;
        run.result.error = e.what();
      }
      return run;
    }));
  }

  std::string fatal;
  std::string retry;
  for (auto& future : runs) {
    ActionRun run = future.get();
    const adapters::ActionResult& r = run.result;
    const std::string outcome(r.skipped ? "skipped" : to_string(r.outcome));
    wb.attempts.push_back(Attempt{txn.xid, run.branch_no, std::string(action_name(decision)), replica_, run.started_at,
                                  r.request_summary, outcome, r.http_status, r.latency, r.error});
    store::BranchUpdate update{run.branch_no, BranchStatus::Waiting, r.outcome, r.error, r.http_status};
    const std::string participant = txn.branches[static_cast<std::size_t>(run.branch_no)].participant;
    if (acknowledged(r.outcome)) {
      update.status = BranchStatus::Done;
    } else if (r.outcome == Outcome::Fatal) {
      update.status = BranchStatus::Fatal;
      if (fatal.empty())
        fatal =
            fmt::format("{} {} of branch {} rejected: {}", participant, action_name(decision), run.branch_no, r.error);
    } else if (retry.empty()) {
      retry = fmt::format("{} {} of branch {}: {}", participant, action_name(decision), run.branch_no, r.error);
      wb.last_http_status = r.http_status;
    }
    wb.branches.push_back(std::move(update));
  }

  if (!fatal.empty()) {
    park(wb, report, fatal);
  } else if (!retry.empty()) {
    wb.status = in_progress_status(decision);
    report.result = ReconcileResult::Requeued;
    report.error = retry;
  } else {
    wb.status = finished_status(decision);
    wb.last_error.clear();
    report.result = ReconcileResult::Finished;
  }
}

void TransactionReconciler::requeue_or_park(const Transaction& txn, const config::RetryPolicy& policy,
                                            store::WriteBack& wb, ReconcileReport& report) {
  wb.attempt_count = txn.attempt_count + 1;
  wb.last_error = report.error;
  if (wb.attempt_count >= policy.max_attempts) {
    park(wb, report, fmt::format("gave up after {} attempts: {}", wb.attempt_count, report.error));
    return;
  }
  if (Clock::now() - txn.created_at >= policy.max_age) {
    park(wb, report, fmt::format("gave up after max_age: {}", report.error));
    return;
  }
  wb.requeue_after = backoff_delay(policy, wb.attempt_count, unit_random());
  report.result = ReconcileResult::Requeued;
}

void TransactionReconciler::park(store::WriteBack& wb, ReconcileReport& report, std::string reason) {
  wb.status = Status::Parked;
  wb.parked_reason = std::move(reason);
  wb.last_error = wb.parked_reason;
  report.result = ReconcileResult::Parked;
  report.error = wb.parked_reason;
}

double TransactionReconciler::unit_random() {
  std::lock_guard lock(random_mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

}  // namespace compensatord::reconciler
