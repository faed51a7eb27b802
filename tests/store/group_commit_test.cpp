// Group commit: concurrent callers share one call of the inner store, each gets its own result,
// and one caller's bad request fails only that caller.
#include "store/group_commit.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace compensatord::store {
namespace {

using namespace std::chrono_literals;

// Writes back by echoing: a write-back is "written" when its xid does not start with "lost";
// an xid "poison" makes the whole call fail, as a constraint violation would. The first call
// can be held until released, so that other callers queue up behind it.
class EchoStore final : public LeaseStore {
 public:
  std::mutex mutex;
  std::condition_variable changed;
  bool hold_first = false;
  bool first_entered = false;
  std::vector<std::size_t> batch_sizes;

  std::vector<Transaction> claim_due(const ClaimRequest&) override { return {}; }
  std::vector<DecideResult> decide_all(const std::vector<DecideRequest>& requests) override {
    std::vector<DecideResult> results;
    for (const auto& r : requests) results.push_back({.decided_by_us = true, .decision = r.decision});
    return results;
  }
  std::vector<StartedCalls> start_calls_all(const std::vector<CallsStart>& requests) override {
    std::vector<StartedCalls> results;
    for (const auto& r : requests) results.push_back({.lease_lost = r.xid.rfind("lost", 0) == 0, .attempt_ids = {}});
    return results;
  }
  std::vector<bool> write_back_all(const std::vector<WriteBack>& results) override {
    {
      std::unique_lock lock(mutex);
      batch_sizes.push_back(results.size());
      if (hold_first && !first_entered) {
        first_entered = true;
        changed.notify_all();
        changed.wait(lock, [&] { return !hold_first; });
      }
    }
    std::vector<bool> written;
    for (const auto& r : results) {
      if (r.xid == "poison") throw std::runtime_error("poison");
      written.push_back(r.xid.rfind("lost", 0) != 0);
    }
    return written;
  }
  std::vector<std::string> renew(const std::vector<LeasedXid>&, std::chrono::milliseconds) override { return {}; }
  void release(const std::vector<LeasedXid>&) override {}
};

WriteBack write_back(std::string xid) {
  WriteBack wb;
  wb.xid = std::move(xid);
  return wb;
}

// A first write-back held inside the inner store, so that later callers queue behind it.
class HeldFirstWrite {
 public:
  HeldFirstWrite(EchoStore& inner, GroupCommitStore& store) : inner_(inner), store_(store) {
    inner_.hold_first = true;
    first_ = std::jthread([this] { EXPECT_TRUE(store_.write_back(write_back("first"))); });
    std::unique_lock lock(inner_.mutex);
    inner_.changed.wait(lock, [this] { return inner_.first_entered; });
  }

  // Waits until `callers` wait behind the held write, then lets it finish.
  void release_once_queued(std::size_t callers) {
    while (store_.queued_write_backs() < callers) std::this_thread::sleep_for(1ms);
    {
      std::lock_guard lock(inner_.mutex);
      inner_.hold_first = false;
    }
    inner_.changed.notify_all();
    first_.join();
  }

 private:
  EchoStore& inner_;
  GroupCommitStore& store_;
  std::jthread first_;
};

TEST(GroupCommit, CallersArrivingDuringAWriteGoTogetherInTheNextOne) {
  EchoStore inner;
  GroupCommitStore store(inner);
  HeldFirstWrite first(inner, store);
  std::vector<std::jthread> others;
  std::vector<int> written(20, -1);
  for (int i = 0; i < 20; ++i) {
    others.emplace_back([&, i] {
      written[static_cast<std::size_t>(i)] =
          store.write_back(write_back((i % 2 ? "lost-" : "ok-") + std::to_string(i)));
    });
  }
  first.release_once_queued(20);
  others.clear();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(written[static_cast<std::size_t>(i)], i % 2 ? 0 : 1) << i;
  ASSERT_GE(inner.batch_sizes.size(), 2u);
  EXPECT_EQ(inner.batch_sizes[0], 1u);
  EXPECT_EQ(inner.batch_sizes[1], 20u) << "everything queued during the first write goes in one";
}

TEST(GroupCommit, ABadRequestFailsOnlyItsOwnCaller) {
  EchoStore inner;
  GroupCommitStore store(inner);
  HeldFirstWrite first(inner, store);
  bool poison_failed = false;
  bool good_written = false;
  std::jthread poison([&] {
    try {
      store.write_back(write_back("poison"));
    } catch (const std::runtime_error&) {
      poison_failed = true;
    }
  });
  std::jthread good([&] { good_written = store.write_back(write_back("good")); });
  first.release_once_queued(2);  // the two go in one batch, which fails as a whole
  poison.join();
  good.join();
  EXPECT_TRUE(poison_failed);
  EXPECT_TRUE(good_written);
  EXPECT_EQ(inner.batch_sizes, (std::vector<std::size_t>{1, 2, 1, 1})) << "the failed batch went again entry by entry";
}

TEST(GroupCommit, DecisionsComeBackInTheCallersOrder) {
  EchoStore inner;
  GroupCommitStore store(inner);
  const auto results = store.decide_all({{"a", {}, Decision::Cancel}, {"b", {}, Decision::Confirm}});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].decision, Decision::Cancel);
  EXPECT_EQ(results[1].decision, Decision::Confirm);
  EXPECT_TRUE(store.decide_all({}).empty());
}

}  // namespace
}  // namespace compensatord::store
