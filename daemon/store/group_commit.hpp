#pragma once
// Group commit for the reconciler's writes. Workers decide and write back one transaction at a
// time; a statement and a commit per transaction would make the database's commit rate the
// engine's ceiling. Here, calls that arrive while a batch is being written wait for it and then
// go together, in one statement per table and one commit: the busier the engine, the larger the
// batches, and an idle engine pays no added delay. Each transaction keeps its own fenced lease
// and its own result; the compare-and-set of a decision is still per row, so the order service's
// commit races each transaction exactly as before (docs/integration-contract.md).
//
// Everything other than decide_all, start_calls_all and write_back_all passes straight through.

#include "store/store.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

namespace compensatord::store {

// Runs requests of many callers as one call of `run`. The first caller to find no batch running
// writes the batch itself (no extra thread); the others wait for their result. When a batch is
// written, each of its callers is woken on its own, and the oldest caller still queued is handed
// the next batch: no caller is woken for nothing.
template <typename Request, typename Result>
class Batcher {
 public:
  using Run = std::function<std::vector<Result>(const std::vector<Request>&)>;

  Batcher(Run run, std::size_t max_batch) : run_(std::move(run)), max_batch_(max_batch) {}

  std::vector<Result> submit(const std::vector<Request>& requests);

  // Callers waiting for a batch to take them.
  [[nodiscard]] std::size_t queued() const;

 private:
  struct Entry {
    const std::vector<Request>* requests = nullptr;
    std::vector<Result> results;
    std::exception_ptr error;
    bool done = false;
    bool leads = false;  // handed the next batch to write
    std::condition_variable woken;
  };

  void write_batch(std::unique_lock<std::mutex>& lock);
  void run_entries(std::vector<Entry*>& batch);

  Run run_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::deque<Entry*> queued_;
  bool writing_ = false;  // a batch is being written, or handed to the caller that writes it next
};

class GroupCommitStore final : public LeaseStore {
 public:
  // At most `max_batch` callers' requests go in one batch.
  explicit GroupCommitStore(LeaseStore& inner, std::size_t max_batch = 256);

  std::vector<Transaction> claim_due(const ClaimRequest& request) override { return inner_.claim_due(request); }
  std::vector<DecideResult> decide_all(const std::vector<DecideRequest>& requests) override {
    return decisions_.submit(requests);
  }
  std::vector<StartedCalls> start_calls_all(const std::vector<CallsStart>& requests) override {
    return started_calls_.submit(requests);
  }
  std::vector<bool> write_back_all(const std::vector<WriteBack>& results) override {
    return write_backs_.submit(results);
  }
  [[nodiscard]] std::size_t queued_write_backs() const { return write_backs_.queued(); }
  std::vector<std::string> renew(const std::vector<LeasedXid>& leases, std::chrono::milliseconds lease) override {
    return inner_.renew(leases, lease);
  }
  void release(const std::vector<LeasedXid>& leases) override { inner_.release(leases); }

 private:
  LeaseStore& inner_;
  Batcher<DecideRequest, DecideResult> decisions_;
  Batcher<CallsStart, StartedCalls> started_calls_;
  Batcher<WriteBack, bool> write_backs_;
};

}  // namespace compensatord::store
