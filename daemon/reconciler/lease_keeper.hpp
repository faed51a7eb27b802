#pragma once
// Keeps the leases of this replica's work in flight. A thread renews them all in one statement
// every third of the lease, so only a dead, frozen or partitioned replica loses a lease; and the
// keeper knows, by this replica's own clock, until when each lease is surely held (counted from
// the moment the claim or renewal that set it was sent), so that no check or call starts that
// could outlive its lease. A lease the store reports lost is never renewed again.

#include "store/store.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace compensatord::reconciler {

using SteadyClock = std::chrono::steady_clock;

class LeaseKeeper {
 public:
  // Starts the renewal thread; the destructor stops and joins it.
  LeaseKeeper(store::LeaseStore& store, std::string owner, std::chrono::milliseconds lease);
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Starts keeping the lease a claim sent at `claim_sent` returned with `txn`.
  void keep(const Transaction& txn, SteadyClock::time_point claim_sent);
  // Stops keeping it (its write-back or release is done).
  void forget(const std::string& xid);

  // True while the lease on `xid` surely lasts at least `needed` more.
  [[nodiscard]] bool holds_for(const std::string& xid, std::chrono::milliseconds needed) const;
  // The xids kept now: the claim must not take them again.
  [[nodiscard]] std::vector<std::string> kept() const;
  // Renews every kept lease now (the thread does this every lease / 3).
  void renew_now();

  [[nodiscard]] std::chrono::milliseconds renew_interval() const { return lease_ / 3; }

 private:
  struct Held {
    std::int64_t token = 0;
    SteadyClock::time_point surely_until;
    bool lost = false;
  };

  void renew_periodically(std::stop_token stop);

  store::LeaseStore& store_;
  const std::string owner_;
  const std::chrono::milliseconds lease_;
  mutable std::mutex mutex_;
  std::map<std::string, Held, std::less<>> held_;
  std::jthread renewer_;  // last: it uses the members above
};

}  // namespace compensatord::reconciler
