#pragma once
// The lock book of a legacy participant (stock or coupon), keyed by order number the way the
// seed systems key it: lock (try), rollback (cancel) and confirm, each idempotent, with an
// empty rollback leaving a tombstone so a late lock is refused (suspension).

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace demo {

// The seed systems' answer codes; code_http_status() gives the HTTP status each is sent with.
enum class Code {
  Ok = 0,
  NotFound = 1001,
  Already = 1002,
  RolledBack = 1003,
  Rejected = 1004,   // insufficient stock, coupon used or locked by another order
  Conflict = 1005,   // already confirmed (rollback) or already rolled back (confirm)
  Cancelled = 1006,  // the order service's transaction was cancelled by compensatord
};

struct Reply {
  Code code = Code::Ok;
  std::string msg;
};

int code_http_status(Code code);
nlohmann::json reply_body(const Reply& reply);

enum class LockState { Locked, Confirmed, RolledBack, Tombstone };
std::string_view to_string(LockState s);

// What an order holds: a SKU and quantity, or a coupon (quantity 1).
struct LockRecord {
  LockState state = LockState::Locked;
  std::string item;
  long long qty = 0;
  // Rollback and confirm calls this order received, whatever they answered: tests compare them
  // with compensatord's attempt trail.
  int rollbacks = 0;
  int confirms = 0;
};

// The resources behind the locks. Calls come with the ledger's mutex held.
class Pool {
 public:
  virtual ~Pool() = default;
  // Returns why the item cannot be reserved, or nothing when it was reserved.
  virtual std::optional<std::string> reserve(const std::string& item, long long qty) = 0;
  virtual void release(const std::string& item, long long qty) = 0;
  virtual void consume(const std::string& item, long long qty) = 0;
  [[nodiscard]] virtual nlohmann::json totals() const = 0;
};

// SKUs named SKU-1 .. SKU-<skus>, each starting with `stock_per_sku` available.
std::unique_ptr<Pool> make_stock_pool(int skus, long long stock_per_sku);
// Coupons named CPN-1 .. CPN-<coupons>, each usable once.
std::unique_ptr<Pool> make_coupon_pool(int coupons);

class Ledger {
 public:
  explicit Ledger(std::unique_ptr<Pool> pool);

  Reply lock(const std::string& order_no, const std::string& item, long long qty);
  // item/qty are only recorded on a tombstone; a lock's own record is authoritative.
  Reply rollback(const std::string& order_no, const std::string& item, long long qty);
  Reply confirm(const std::string& order_no);

  // The pool's totals plus "orders": {orderNo: {"state","item","qty","rollbacks","confirms"}}.
  [[nodiscard]] nlohmann::json totals() const;

 private:
  mutable std::mutex mutex_;
  std::unique_ptr<Pool> pool_;
  std::map<std::string, LockRecord> records_;
};

}  // namespace demo
