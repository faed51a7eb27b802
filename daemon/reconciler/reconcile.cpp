#include "reconciler/reconcile.hpp"

#include "common/backoff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
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

// How long past the longest participant timeout a reconcile waits for the transport to answer.
constexpr std::chrono::seconds kAnswerGrace{5};

Status in_progress_status(Decision d) { return d == Decision::Confirm ? Status::Confirming : Status::Cancelling; }
Status finished_status(Decision d) { return d == Decision::Confirm ? Status::Confirmed : Status::Cancelled; }

// Runs `stage` and records how long it took in `into`.
template <typename Stage>
auto timed(std::optional<std::chrono::duration<double>>& into, Stage&& stage) {
  const auto started = std::chrono::steady_clock::now();
  struct Record {
    std::optional<std::chrono::duration<double>>& into;
    std::chrono::steady_clock::time_point started;
    ~Record() { into = std::chrono::steady_clock::now() - started; }
  } record{into, started};
  return stage();
}

bool awaits_actions(Status s) { return s == Status::Committed || s == Status::Confirming || s == Status::Cancelling; }

Attempt check_attempt(const Transaction& txn, const std::string& replica, TimePoint started,
                      const check::CheckResult& r) {
  return Attempt{txn.xid,           std::nullopt, AttemptAction::Check, replica,   started,
                 r.request_summary, r.verdict,    r.http_status,        r.latency, r.error,
                 std::nullopt};
}

}  // namespace

struct TransactionReconciler::ActionRun {
  int branch_no = 0;
  std::int64_t attempt_id = 0;  // the started call's row in the trail
  TimePoint started_at;
  adapters::ActionResult result;
};

TransactionReconciler::TransactionReconciler(store::LeaseStore& store, std::shared_ptr<const ReconcileContext> context,
                                             std::string replica)
    : store_(store), context_(std::move(context)), replica_(std::move(replica)), random_(std::random_device{}()) {}

void TransactionReconciler::use_context(std::shared_ptr<const ReconcileContext> context) {
  std::shared_ptr<const ReconcileContext> replaced;
  {
    std::lock_guard lock(context_mutex_);
    replaced = std::exchange(context_, std::move(context));
  }
  // `replaced` may be the last owner: its checks close their connections here, outside the lock
  // every reconcile takes.
}

std::shared_ptr<const ReconcileContext> TransactionReconciler::context() const {
  std::lock_guard lock(context_mutex_);
  return context_;
}

ReconcileReport TransactionReconciler::reconcile(Transaction txn, const LeaseCheck& lease_held) {
  // Held to the end: a reload must not change the check, the retry policy or an adapter half-way.
  const std::shared_ptr<const ReconcileContext> context = this->context();
  ReconcileReport report;
  store::WriteBack wb = begin_write_back(txn);
  auto kind = context->kinds.find(txn.kind);
  if (kind == context->kinds.end()) {
    park(wb, report, fmt::format("unknown kind '{}': not in the config's kinds", txn.kind));
  } else {
    std::optional<Started> started;
    const bool decided =
        txn.status != Status::Pending || check_and_decide(*context, txn, kind->second, lease_held, wb, report, started);
    if (decided && awaits_actions(txn.status) && txn.decision) {
      run_actions(*context, txn, lease_held, wb, report, std::move(started));
    } else if (decided) {
      park(wb, report, fmt::format("claimed in status {} without a decision", to_string(txn.status)));
    }
    if (report.result == ReconcileResult::Requeued) requeue_or_park(txn, kind->second.retry, wb, report);
  }
  report.status = wb.status;
  report.decision = txn.decision;
  // A lost lease writes only the attempts: the calls happened, the row belongs to another claim.
  if (!timed(report.stages.write_back, [&] { return store_.write_back(wb); }))
    report.result = ReconcileResult::LeaseLost;
  return report;
}

store::WriteBack TransactionReconciler::begin_write_back(const Transaction& txn) const {
  store::WriteBack wb;
  wb.xid = txn.xid;
  wb.lease = store::lease_of(txn);
  wb.expected_status = txn.status;
  wb.status = txn.status;
  wb.attempt_count = txn.attempt_count;
  wb.last_error = txn.last_error;
  wb.last_http_status = txn.last_http_status;
  return wb;
}

// Returns true when the transaction is decided (by us or, racing us, by the order service);
// false when the check was inconclusive (report.error says why) or the lease was lost.
bool TransactionReconciler::check_and_decide(const ReconcileContext& context, Transaction& txn, const KindRuntime& kind,
                                             const LeaseCheck& lease_held, store::WriteBack& wb,
                                             ReconcileReport& report, std::optional<Started>& started) {
  if (!lease_held(kind.check_timeout)) {
    defer(wb, report, "the lease would not outlast the check");
    return false;
  }
  const TimePoint check_started = Clock::now();
  check::CheckResult checked = timed(report.stages.check, [&] { return kind.check->run(txn); });
  Attempt check = check_attempt(txn, replica_, check_started, checked);
  if (checked.unaskable) {
    wb.attempts.push_back(std::move(check));
    park(wb, report, fmt::format("check cannot be asked: {}", checked.error));
    return false;
  }
  if (checked.verdict == CheckVerdict::Unknown) {
    wb.attempts.push_back(std::move(check));
    report.error = fmt::format("check inconclusive: {}", checked.error);
    wb.last_http_status = checked.http_status;
    return false;
  }
  const Decision wanted = checked.verdict == CheckVerdict::Committed ? Decision::Confirm : Decision::Cancel;
  return decide(context, txn, wanted, std::move(check), lease_held, wb, report, started);
}

// The compare-and-set of `wanted`; true when a decision (ours or the order service's) is in force.
// The check that asked for it goes into the trail with it, and so do the calls it leads to when they
// can start at once (`started`); a check whose decision was not ours goes with the write-back.
bool TransactionReconciler::decide(const ReconcileContext& context, Transaction& txn, Decision wanted, Attempt check,
                                   const LeaseCheck& lease_held, store::WriteBack& wb, ReconcileReport& report,
                                   std::optional<Started>& started) {
  store::DecideRequest request{txn.xid, wb.lease, wanted};
  request.check = std::move(check);
  auto targets = callable_targets(context, txn);
  if (targets && !lease_held(calls_need(*targets))) targets.reset();
  if (targets) request.calls = started_calls(txn, wanted, *targets);
  store::DecideResult decided = timed(report.stages.decide, [&] { return store_.decide_all({request}).front(); });
  if (!decided.decided_by_us) wb.attempts.push_back(std::move(*request.check));
  if (decided.lease_lost) {
    report.result = ReconcileResult::LeaseLost;
    return false;
  }
  if (targets && decided.decided_by_us) started = Started{std::move(*targets), std::move(decided.attempt_ids)};
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

void TransactionReconciler::run_actions(const ReconcileContext& context, const Transaction& txn,
                                        const LeaseCheck& lease_held, store::WriteBack& wb, ReconcileReport& report,
                                        std::optional<Started> started) {
  const Decision decision = *txn.decision;
  if (!started) {
    started = start_calls(context, txn, lease_held, wb, report);
    if (!started) return;
  }
  auto runs =
      timed(report.stages.calls, [&] { return call_branches(txn, decision, started->targets, started->attempt_ids); });
  record_actions(txn, decision, std::move(runs), wb, report);
}

// Records the calls of every branch still waiting as started, when the lease outlasts them; or
// nothing, with the reconcile parked, deferred or its lease lost (report says which).
std::optional<TransactionReconciler::Started> TransactionReconciler::start_calls(const ReconcileContext& context,
                                                                                 const Transaction& txn,
                                                                                 const LeaseCheck& lease_held,
                                                                                 store::WriteBack& wb,
                                                                                 ReconcileReport& report) {
  auto targets = callable_targets(context, txn);
  if (!targets) {
    park(wb, report, unknown_participant(context, txn));
    return std::nullopt;
  }
  if (!lease_held(calls_need(*targets))) {
    defer(wb, report, "the lease would not outlast the participants' calls");
    return std::nullopt;
  }
  // In the trail before anything is sent: a call is evidence even if this replica dies mid-call.
  store::StartedCalls recorded = timed(report.stages.start_calls, [&] {
    return store_.start_calls({txn.xid, wb.lease, started_calls(txn, *txn.decision, *targets)});
  });
  if (recorded.lease_lost) {
    report.result = ReconcileResult::LeaseLost;
    report.error = "the lease was lost before the participants' calls";
    return std::nullopt;
  }
  return Started{std::move(*targets), std::move(recorded.attempt_ids)};
}

// Each call may first wait up to its participant's timeout for a free slot, then take as long again.
std::chrono::milliseconds TransactionReconciler::calls_need(const std::vector<BranchTarget>& targets) {
  std::chrono::milliseconds needed{0};
  for (const auto& target : targets) needed = std::max(needed, 2 * target.participant->timeout());
  return needed;
}

std::vector<Attempt> TransactionReconciler::started_calls(const Transaction& txn, Decision decision,
                                                          const std::vector<BranchTarget>& targets) const {
  std::vector<Attempt> calls;
  const TimePoint now = Clock::now();
  for (const auto& target : targets) {
    Attempt call;
    call.xid = txn.xid;
    call.branch_no = target.branch->no;
    call.action = action_of(decision);
    call.replica = replica_;
    call.started_at = now;
    call.outcome = kCallStarted;
    calls.push_back(std::move(call));
  }
  return calls;
}

// The participant of every branch still waiting, or nothing when one is not configured: then no
// call is made at all, rather than some calls whose results would be thrown away.
std::optional<std::vector<TransactionReconciler::BranchTarget>> TransactionReconciler::callable_targets(
    const ReconcileContext& context, const Transaction& txn) {
  std::vector<BranchTarget> targets;
  for (const Branch& branch : txn.branches) {
    if (branch.status != BranchStatus::Waiting) continue;
    auto participant = context.participants.find(branch.participant);
    if (participant == context.participants.end()) return std::nullopt;
    targets.push_back({&branch, participant->second.get()});
  }
  return targets;
}

std::string TransactionReconciler::unknown_participant(const ReconcileContext& context, const Transaction& txn) {
  for (const Branch& branch : txn.branches) {
    if (branch.status == BranchStatus::Waiting && !context.participants.contains(branch.participant))
      return fmt::format("branch {}: unknown participant '{}'", branch.no, branch.participant);
  }
  return "no unknown participant";
}

// Starts every branch's call at once (no thread per call: the transport answers on its own
// threads) and waits for all answers.
std::vector<TransactionReconciler::ActionRun> TransactionReconciler::call_branches(
    const Transaction& txn, Decision decision, const std::vector<BranchTarget>& targets,
    const std::vector<std::int64_t>& attempt_ids) {
  // Shared with the answer handlers, which may run after an (unexpected) give-up below.
  struct Calls {
    std::mutex mutex;
    std::condition_variable answered;
    std::vector<ActionRun> runs;
    std::vector<bool> answered_runs;
    std::size_t pending = 0;
  };
  auto calls = std::make_shared<Calls>();
  calls->runs.resize(targets.size());
  calls->answered_runs.resize(targets.size(), false);
  calls->pending = targets.size();
  std::chrono::milliseconds longest{0};
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const Branch& branch = *targets[i].branch;
    longest = std::max(longest, targets[i].participant->timeout());
    calls->runs[i] = ActionRun{branch.no, attempt_ids.at(i), Clock::now(), {}};
    targets[i].participant->start(decision, txn, branch, [calls, i](adapters::ActionResult result) {
      std::lock_guard lock(calls->mutex);
      calls->runs[i].result = std::move(result);
      calls->answered_runs[i] = true;
      if (--calls->pending == 0) calls->answered.notify_all();
    });
  }
  std::unique_lock lock(calls->mutex);
  // The transport answers every call within its timeout; the bound only guards against a defect there.
  if (!calls->answered.wait_for(lock, longest + kAnswerGrace, [&] { return calls->pending == 0; })) {
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (calls->answered_runs[i]) continue;
      calls->runs[i].result.outcome = Outcome::Retry;
      calls->runs[i].result.error = "no answer from the HTTP transport within the participant's timeout";
    }
  }
  return calls->runs;
}

void TransactionReconciler::record_actions(const Transaction& txn, Decision decision, std::vector<ActionRun> runs,
                                           store::WriteBack& wb, ReconcileReport& report) {
  std::string fatal;
  std::string retry;
  std::vector<BranchStatus> statuses;
  for (const Branch& branch : txn.branches) statuses.push_back(branch.status);
  for (ActionRun& run : runs) {
    const adapters::ActionResult& r = run.result;
    const AttemptOutcome outcome = r.skipped ? AttemptOutcome{CallProgress::Skipped} : AttemptOutcome{r.outcome};
    wb.attempts.push_back(Attempt{txn.xid, run.branch_no, action_of(decision), replica_, run.started_at,
                                  r.request_summary, outcome, r.http_status, r.latency, r.error, run.attempt_id});
    if (!r.skipped) report.calls.push_back({run.branch_no, decision, r.outcome, r.latency});
    store::BranchUpdate update{run.branch_no, BranchStatus::Waiting, r.outcome, r.error, r.http_status};
    const std::string& participant = txn.branches[static_cast<std::size_t>(run.branch_no)].participant;
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
    statuses[static_cast<std::size_t>(run.branch_no)] = update.status;
    wb.branches.push_back(std::move(update));
  }
  // A branch rejected in an earlier reconcile still needs a human, however the others went.
  for (std::size_t no = 0; no < statuses.size() && fatal.empty(); ++no) {
    if (statuses[no] == BranchStatus::Fatal) {
      fatal = fmt::format("{} {} of branch {} was rejected earlier: {}", txn.branches[no].participant,
                          action_name(decision), no, txn.branches[no].last_error);
    }
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

// The lease may run out before what would start next is done: give the row back, due now,
// without counting an attempt. If the lease is already gone, the write-back records only attempts.
void TransactionReconciler::defer(store::WriteBack& wb, ReconcileReport& report, std::string why) {
  wb.requeue_after = std::chrono::milliseconds(0);
  report.result = ReconcileResult::LeaseLost;
  report.error = std::move(why);
}

void TransactionReconciler::requeue_or_park(const Transaction& txn, const RetryPolicy& policy, store::WriteBack& wb,
                                            ReconcileReport& report) {
  wb.attempt_count = txn.attempt_count + 1;
  wb.last_error = report.error;
  if (wb.attempt_count >= policy.max_attempts) {
    park(wb, report, fmt::format("gave up after {} attempts: {}", wb.attempt_count, report.error));
    return;
  }
  if (Clock::now() - txn.age_from >= policy.max_age) {
    park(wb, report, fmt::format("gave up after max_age: {}", report.error));
    return;
  }
  wb.requeue_after = policy.backoff().after(wb.attempt_count, unit_random());
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
