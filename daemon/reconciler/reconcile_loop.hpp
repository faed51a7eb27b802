#pragma once
// The claim loop and its workers: claims due transactions in batches (SKIP LOCKED + lease),
// hands them to a fixed pool of workers, and on stop releases what it has not started.

#include "config/config.hpp"
#include "reconciler/reconcile.hpp"
#include "store/store.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>

namespace compensatord::reconciler {

struct LoopTotals {
  long long claimed = 0;
  long long lease_takeovers = 0;
  long long finished = 0;
  long long requeued = 0;
  long long parked = 0;
  long long lease_lost = 0;
  long long errors = 0;  // store errors while reconciling (lease released or left to expire)
};

class ReconcileLoop {
 public:
  ReconcileLoop(store::Store& store, TransactionReconciler& reconciler, config::ReconcilerConfig config,
                std::string replica);

  // Runs until `stop` is requested, or, when `until_idle`, until a claim finds nothing due
  // and nothing is in flight. On stop, unstarted work is released at once and in-flight work
  // gets `shutdown_grace` to finish. Returns false if in-flight work was still running at
  // the end of the grace period (its leases expire and another replica takes it over).
  bool run(std::stop_token stop, bool until_idle);

  [[nodiscard]] LoopTotals totals() const;

 private:
  void work(std::stop_token stop);
  void reconcile_one(Transaction txn);
  int claim_batch(int capacity);
  bool drain();
  void release_queued();

  store::Store& store_;
  TransactionReconciler& reconciler_;
  config::ReconcilerConfig config_;
  std::string replica_;

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<Transaction> queue_;
  int running_ = 0;
  bool stopping_ = false;
  LoopTotals totals_;
};

}  // namespace compensatord::reconciler
