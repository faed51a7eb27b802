#include "reconciler/lease_keeper.hpp"

#include "common/sleep.hpp"
#include "log/log.hpp"

#include <algorithm>

namespace compensatord::reconciler {

namespace {
constexpr log::Log kLog{"reconciler"};
}  // namespace

LeaseKeeper::LeaseKeeper(store::LeaseStore& store, std::string owner, std::chrono::milliseconds lease)
    : store_(store),
      owner_(std::move(owner)),
      lease_(lease),
      renewer_([this](std::stop_token stop) { renew_periodically(std::move(stop)); }) {}

void LeaseKeeper::keep(const Transaction& txn, SteadyClock::time_point claim_sent) {
  std::lock_guard lock(mutex_);
  held_.insert_or_assign(txn.xid, Held{txn.lease_token, claim_sent + lease_, false});
}

void LeaseKeeper::forget(const std::string& xid) {
  std::lock_guard lock(mutex_);
  held_.erase(xid);
}

bool LeaseKeeper::holds_for(const std::string& xid, std::chrono::milliseconds needed) const {
  std::lock_guard lock(mutex_);
  const auto found = held_.find(xid);
  return found != held_.end() && !found->second.lost && SteadyClock::now() + needed <= found->second.surely_until;
}

std::vector<std::string> LeaseKeeper::kept() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> xids;
  xids.reserve(held_.size());
  for (const auto& [xid, held] : held_) xids.push_back(xid);
  return xids;
}

void LeaseKeeper::renew_now() {
  std::vector<store::LeasedXid> leases;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [xid, held] : held_) {
      if (!held.lost) leases.push_back({xid, {owner_, held.token}});
    }
  }
  if (leases.empty()) return;
  const auto sent = SteadyClock::now();
  std::vector<std::string> lost;
  try {
    lost = store_.renew(leases, lease_);
  } catch (const std::exception& e) {
    // The leases run on towards their expiry; work stops starting calls as each comes near.
    kLog.warn("renewing {} leases failed: {}", leases.size(), e.what());
    return;
  }
  std::lock_guard lock(mutex_);
  for (const auto& leased : leases) {
    const auto found = held_.find(leased.xid);
    if (found == held_.end() || found->second.token != leased.lease.token) continue;
    if (std::find(lost.begin(), lost.end(), leased.xid) != lost.end()) {
      found->second.lost = true;
      kLog.warn({{"xid", leased.xid}}, "lease lost while its work was in flight");
    } else {
      found->second.surely_until = sent + lease_;
    }
  }
}

void LeaseKeeper::renew_periodically(std::stop_token stop) {
  while (!stop.stop_requested()) {
    sleep_for(stop, renew_interval());
    if (stop.stop_requested()) return;
    renew_now();
  }
}

}  // namespace compensatord::reconciler
