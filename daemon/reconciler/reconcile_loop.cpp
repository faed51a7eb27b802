#include "reconciler/reconcile_loop.hpp"

#include "log/log.hpp"

#include <algorithm>
#include <thread>
#include <vector>

namespace compensatord::reconciler {
namespace {
constexpr log::Log kLog{"reconciler"};

class NoObserver final : public LoopObserver {
 public:
  void claimed(int /*count*/, int /*lease_takeovers*/) override {}
  void reconciled(const ReconcileObservation& /*observation*/) override {}
  void reconcile_failed(std::chrono::duration<double> /*elapsed*/) override {}
};

// The participant of every call in `report`.
std::vector<ActionObservation> action_observations(const ReconcileReport& report,
                                                   const std::vector<std::string>& branch_participants) {
  std::vector<ActionObservation> actions;
  for (const CallReport& call : report.calls) {
    const auto branch = static_cast<std::size_t>(call.branch_no);
    if (branch >= branch_participants.size()) continue;
    actions.push_back({branch_participants[branch], call.action, call.outcome, call.latency});
  }
  return actions;
}

}  // namespace

LoopObserver& no_observer() {
  static NoObserver observer;
  return observer;
}

ReconcileLoop::ReconcileLoop(store::LeaseStore& store, TransactionReconciler& reconciler, ReconcilerConfig config,
                             std::string replica, LoopObserver& observer)
    : store_(store),
      reconciler_(reconciler),
      config_(config),
      replica_(std::move(replica)),
      observer_(observer),
      leases_(store, replica_, config.lease) {}

bool ReconcileLoop::stalled(std::chrono::milliseconds bound) const {
  std::lock_guard lock(mutex_);
  const bool work_waiting = !queue_.empty() || running_ > 0 || claim_found_more_;
  return work_waiting && std::chrono::steady_clock::now() - last_progress_ > bound;
}

void ReconcileLoop::mark_progress(bool work_waiting) {
  std::lock_guard lock(mutex_);
  last_progress_ = std::chrono::steady_clock::now();
  claim_found_more_ = work_waiting;
}

LoopTotals ReconcileLoop::totals() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

void ReconcileLoop::run(std::stop_token stop, bool until_idle) {
  // Declared first, destroyed last: leaving run joins every worker, whichever way it leaves.
  std::vector<std::jthread> workers;
  for (int i = 0; i < config_.workers; ++i) {
    workers.emplace_back([this](std::stop_token own) { work(own); });
  }
  // A claimed row starts at once: never claim more than idle workers can take. Under load, wait
  // until a quarter of them are idle, so that one claim statement serves several transactions.
  const int capacity = config_.workers;
  const int enough_idle = std::max(1, std::min(config_.batch_size, capacity / 4));
  while (!stop.stop_requested()) {
    int outstanding = 0;
    {
      std::unique_lock lock(mutex_);
      worker_done_.wait(lock, stop,
                        [&] { return static_cast<int>(queue_.size()) + running_ <= capacity - enough_idle; });
      if (stop.stop_requested()) break;
      outstanding = static_cast<int>(queue_.size()) + running_;
    }
    const int wanted = std::min(config_.batch_size, capacity - outstanding);
    const int claimed = claim_batch(wanted);
    if (claimed == wanted) continue;
    std::unique_lock lock(mutex_);
    if (until_idle && claimed == 0 && queue_.empty() && running_ == 0) break;
    // Nothing more is due now: wait for the poll interval, or for a worker to finish when idle-exiting.
    worker_done_.wait_for(lock, stop, config_.poll_interval,
                          [&] { return until_idle && queue_.empty() && running_ == 0; });
  }
  stop_workers();
}

int ReconcileLoop::claim_batch(int capacity) {
  std::vector<Transaction> claimed;
  const auto sent = SteadyClock::now();
  try {
    claimed = store_.claim_due({replica_, capacity, config_.lease, leases_.kept()});
  } catch (const std::exception& e) {
    // A failed claim still shows the loop is alive: a database outage is for readiness, not liveness.
    mark_progress(false);
    kLog.error("claiming due transactions failed: {}", e.what());
    return 0;
  }
  const int count = static_cast<int>(claimed.size());
  mark_progress(count == capacity);
  int takeovers = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& txn : claimed) {
      leases_.keep(txn, sent);
      ++totals_.claimed;
      if (txn.lease_taken_over) {
        ++totals_.lease_takeovers;
        ++takeovers;
        kLog.warn({{"xid", txn.xid}}, "taken over from an expired lease");
      }
      queue_.push_back(std::move(txn));
    }
  }
  // One idle worker per claimed row: waking all of them for each would cost more than the work.
  for (int i = 0; i < count; ++i) work_queued_.notify_one();
  if (count > 0) observer_.claimed(count, takeovers);
  return count;
}

void ReconcileLoop::work(std::stop_token stop) {
  while (true) {
    Transaction txn;
    {
      std::unique_lock lock(mutex_);
      work_queued_.wait(lock, stop, [&] { return !queue_.empty() || stopping_; });
      if (stop.stop_requested() || stopping_) return;
      txn = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    reconcile_one(std::move(txn));
    {
      std::lock_guard lock(mutex_);
      --running_;
      last_progress_ = std::chrono::steady_clock::now();
    }
    worker_done_.notify_all();
  }
}

void ReconcileLoop::reconcile_one(Transaction txn) {
  const std::string xid = txn.xid;
  const store::LeasedXid leased{txn.xid, store::lease_of(txn)};
  std::vector<std::string> branch_participants;
  for (const Branch& branch : txn.branches) branch_participants.push_back(branch.participant);
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started); };
  try {
    ReconcileReport report = reconciler_.reconcile(
        std::move(txn), [this, &xid](std::chrono::milliseconds needed) { return leases_.holds_for(xid, needed); });
    observer_.reconciled({report.result, report.decided_now ? report.decision : std::nullopt, elapsed(),
                          action_observations(report, branch_participants), report.stages});
    std::lock_guard lock(mutex_);
    switch (report.result) {
      case ReconcileResult::Finished:
        ++totals_.finished;
        kLog.info({{"xid", xid}}, "finished: {}", to_string(report.status));
        break;
      case ReconcileResult::Requeued:
        ++totals_.requeued;
        kLog.debug({{"xid", xid}}, "requeued: {}", report.error);
        break;
      case ReconcileResult::Parked:
        ++totals_.parked;
        kLog.warn({{"xid", xid}}, "PARKED: {}", report.error);
        break;
      case ReconcileResult::LeaseLost:
        ++totals_.lease_lost;
        kLog.warn({{"xid", xid}}, "lease lost or running out ({}); only its attempts were recorded",
                  report.error.empty() ? "another replica holds it" : report.error);
        break;
    }
  } catch (const std::exception& e) {
    observer_.reconcile_failed(elapsed());
    {
      std::lock_guard lock(mutex_);
      ++totals_.errors;
    }
    kLog.error({{"xid", xid}}, "reconcile failed: {}", e.what());
    try {
      store_.release({leased});
    } catch (const std::exception& release_error) {
      kLog.warn({{"xid", xid}}, "release failed, its lease will expire: {}", release_error.what());
    }
  }
  leases_.forget(xid);
}

void ReconcileLoop::stop_workers() {
  int in_flight = 0;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    in_flight = running_;
  }
  work_queued_.notify_all();
  release_queued();
  if (in_flight > 0) kLog.info("stopping; waiting for {} transactions in flight", in_flight);
}

void ReconcileLoop::release_queued() {
  std::vector<store::LeasedXid> leases;
  {
    std::lock_guard lock(mutex_);
    for (const auto& txn : queue_) leases.push_back({txn.xid, store::lease_of(txn)});
    queue_.clear();
  }
  if (leases.empty()) return;
  try {
    store_.release(leases);
    kLog.info("released {} claimed transactions not yet started", leases.size());
  } catch (const std::exception& e) {
    kLog.warn("releasing {} transactions failed, their leases will expire: {}", leases.size(), e.what());
  }
  for (const auto& leased : leases) leases_.forget(leased.xid);
}

}  // namespace compensatord::reconciler
