#pragma once

#include "adapters/fair_limiter.hpp"
#include "check/check.hpp"
#include "check/check_spec.hpp"

#include <memory>
#include <mutex>
#include <vector>

#include <pqxx/connection>

namespace compensatord::check {

// Asks the order database. At most `max_connections` checks run at once, each on a pooled
// connection; a broken one is dropped, so the next check reconnects.
class SqlCheck final : public Check {
 public:
  explicit SqlCheck(SqlCheckSpec spec);
  ~SqlCheck() override;
  CheckResult run(const Transaction& txn) override;

 private:
  std::unique_ptr<pqxx::connection> acquire();
  void give_back(std::unique_ptr<pqxx::connection> c);

  SqlCheckSpec spec_;
  adapters::FairLimiter connections_;  // one slot per connection that may be open
  std::mutex mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mutex_
};

}  // namespace compensatord::check
