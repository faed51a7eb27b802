#include "store/group_commit.hpp"

#include <stdexcept>

namespace compensatord::store {

template <typename Request, typename Result>
std::vector<Result> Batcher<Request, Result>::submit(const std::vector<Request>& requests) {
  if (requests.empty()) return {};
  Entry entry;
  entry.requests = &requests;
  std::unique_lock lock(mutex_);
  queued_.push_back(&entry);
  if (writing_) entry.woken.wait(lock, [&] { return entry.done || entry.leads; });
  if (!entry.done) write_batch(lock);
  if (entry.error) std::rethrow_exception(entry.error);
  return std::move(entry.results);
}

template <typename Request, typename Result>
std::size_t Batcher<Request, Result>::queued() const {
  std::lock_guard lock(mutex_);
  return queued_.size();
}

// Called with the lock held by the caller whose entry is the oldest queued; writes the oldest
// queued entries (its own among them) with the lock released.
template <typename Request, typename Result>
void Batcher<Request, Result>::write_batch(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  std::vector<Entry*> batch;
  while (!queued_.empty() && batch.size() < max_batch_) {
    batch.push_back(queued_.front());
    queued_.pop_front();
  }
  lock.unlock();
  run_entries(batch);
  lock.lock();
  for (Entry* entry : batch) {
    entry->done = true;
    entry->woken.notify_one();
  }
  if (queued_.empty()) {
    writing_ = false;
  } else {
    queued_.front()->leads = true;
    queued_.front()->woken.notify_one();
  }
}

template <typename Request, typename Result>
void Batcher<Request, Result>::run_entries(std::vector<Entry*>& batch) {
  std::vector<Request> all;
  for (const Entry* entry : batch) all.insert(all.end(), entry->requests->begin(), entry->requests->end());
  try {
    std::vector<Result> results = run_(all);
    if (results.size() != all.size()) throw std::logic_error("a batch returned a different number of results");
    auto next = results.begin();
    for (Entry* entry : batch) {
      const auto count = static_cast<std::ptrdiff_t>(entry->requests->size());
      entry->results.assign(next, next + count);
      next += count;
    }
    return;
  } catch (...) {
    if (batch.size() == 1) {
      batch.front()->error = std::current_exception();
      return;
    }
  }
  // One caller's bad request must not fail the others': each goes again on its own.
  for (Entry* entry : batch) {
    try {
      entry->results = run_(*entry->requests);
    } catch (...) {
      entry->error = std::current_exception();
    }
  }
}

template class Batcher<DecideRequest, DecideResult>;
template class Batcher<CallsStart, StartedCalls>;
template class Batcher<WriteBack, bool>;

GroupCommitStore::GroupCommitStore(LeaseStore& inner, std::size_t max_batch)
    : inner_(inner),
      decisions_([this](const std::vector<DecideRequest>& r) { return inner_.decide_all(r); }, max_batch),
      started_calls_([this](const std::vector<CallsStart>& r) { return inner_.start_calls_all(r); }, max_batch),
      write_backs_([this](const std::vector<WriteBack>& r) { return inner_.write_back_all(r); }, max_batch) {}

}  // namespace compensatord::store
