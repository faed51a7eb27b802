#include "legacy_services/ledger.hpp"

#include <string>
#include <utility>

namespace demo {

int code_http_status(Code code) {
  switch (code) {
    case Code::Ok:
    case Code::Already:
      return 200;
    case Code::NotFound:
      return 404;
    case Code::RolledBack:
    case Code::Conflict:
    case Code::Cancelled:
      return 409;
    case Code::Rejected:
      return 422;
  }
  return 500;
}

nlohmann::json reply_body(const Reply& reply) {
  nlohmann::json body = {{"code", static_cast<int>(reply.code)}};
  if (!reply.msg.empty()) body["msg"] = reply.msg;
  return body;
}

std::string_view to_string(LockState s) {
  switch (s) {
    case LockState::Locked:
      return "locked";
    case LockState::Confirmed:
      return "confirmed";
    case LockState::RolledBack:
      return "rolled_back";
    case LockState::Tombstone:
      return "tombstone";
  }
  return "?";
}

namespace {

// "PREFIX<n>" with 1 <= n <= count, or nothing.
std::optional<std::size_t> numbered_item(const std::string& item, std::string_view prefix, std::size_t count) {
  if (!item.starts_with(prefix) || item.size() > prefix.size() + 9) return std::nullopt;
  std::size_t n = 0;
  for (std::size_t i = prefix.size(); i < item.size(); ++i) {
    if (item[i] < '0' || item[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(item[i] - '0');
  }
  if (item.size() == prefix.size() || n < 1 || n > count) return std::nullopt;
  return n - 1;
}

class StockPool final : public Pool {
 public:
  StockPool(int skus, long long stock_per_sku) : skus_(static_cast<std::size_t>(skus), Sku{stock_per_sku, 0, 0}) {}

  std::optional<std::string> reserve(const std::string& item, long long qty) override {
    auto index = numbered_item(item, "SKU-", skus_.size());
    if (!index) return "unknown sku";
    Sku& sku = skus_[*index];
    if (sku.available < qty) return "insufficient stock";
    sku.available -= qty;
    sku.locked += qty;
    return std::nullopt;
  }

  void release(const std::string& item, long long qty) override {
    Sku& sku = skus_[*numbered_item(item, "SKU-", skus_.size())];
    sku.locked -= qty;
    sku.available += qty;
  }

  void consume(const std::string& item, long long qty) override {
    Sku& sku = skus_[*numbered_item(item, "SKU-", skus_.size())];
    sku.locked -= qty;
    sku.sold += qty;
  }

  [[nodiscard]] nlohmann::json totals() const override {
    nlohmann::json per_sku = nlohmann::json::object();
    long long available = 0, locked = 0, sold = 0;
    for (std::size_t i = 0; i < skus_.size(); ++i) {
      const Sku& sku = skus_[i];
      per_sku["SKU-" + std::to_string(i + 1)] = {
          {"available", sku.available}, {"locked", sku.locked}, {"sold", sku.sold}};
      available += sku.available;
      locked += sku.locked;
      sold += sku.sold;
    }
    return {{"available", available}, {"locked", locked}, {"sold", sold}, {"skus", per_sku}};
  }

 private:
  struct Sku {
    long long available;
    long long locked;
    long long sold;
  };
  std::vector<Sku> skus_;
};

class CouponPool final : public Pool {
 public:
  explicit CouponPool(int coupons) : coupons_(static_cast<std::size_t>(coupons), State::Free) {}

  std::optional<std::string> reserve(const std::string& item, long long /*qty*/) override {
    auto index = numbered_item(item, "CPN-", coupons_.size());
    if (!index) return "unknown coupon";
    if (coupons_[*index] == State::Used) return "coupon already used";
    if (coupons_[*index] == State::Locked) return "coupon locked by another order";
    coupons_[*index] = State::Locked;
    ++locked_;
    return std::nullopt;
  }

  void release(const std::string& item, long long /*qty*/) override {
    coupons_[*numbered_item(item, "CPN-", coupons_.size())] = State::Free;
    --locked_;
  }

  void consume(const std::string& item, long long /*qty*/) override {
    coupons_[*numbered_item(item, "CPN-", coupons_.size())] = State::Used;
    --locked_;
    ++used_;
  }

  [[nodiscard]] nlohmann::json totals() const override {
    const auto total = static_cast<long long>(coupons_.size());
    return {{"free", total - locked_ - used_}, {"locked", locked_}, {"used", used_}};
  }

 private:
  enum class State : unsigned char { Free, Locked, Used };
  std::vector<State> coupons_;
  long long locked_ = 0;
  long long used_ = 0;
};

}  // namespace

std::unique_ptr<Pool> make_stock_pool(int skus, long long stock_per_sku) {
  return std::make_unique<StockPool>(skus, stock_per_sku);
}

std::unique_ptr<Pool> make_coupon_pool(int coupons) { return std::make_unique<CouponPool>(coupons); }

Ledger::Ledger(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

Reply Ledger::lock(const std::string& order_no, const std::string& item, long long qty) {
  std::lock_guard guard(mutex_);
  if (auto it = records_.find(order_no); it != records_.end()) {
    const LockState state = it->second.state;
    if (state == LockState::RolledBack || state == LockState::Tombstone) return {Code::RolledBack, "order rolled back"};
    return {Code::Already, "already locked"};
  }
  if (auto problem = pool_->reserve(item, qty)) return {Code::Rejected, *problem};
  records_.emplace(order_no, LockRecord{LockState::Locked, item, qty});
  return {Code::Ok, ""};
}

Reply Ledger::rollback(const std::string& order_no, const std::string& item, long long qty) {
  std::lock_guard guard(mutex_);
  auto it = records_.find(order_no);
  if (it == records_.end()) {
    records_.emplace(order_no, LockRecord{LockState::Tombstone, item, qty, 1, 0});
    return {Code::NotFound, "order not found"};
  }
  LockRecord& record = it->second;
  ++record.rollbacks;
  switch (record.state) {
    case LockState::Locked:
      pool_->release(record.item, record.qty);
      record.state = LockState::RolledBack;
      return {Code::Ok, ""};
    case LockState::Confirmed:
      return {Code::Conflict, "already confirmed"};
    case LockState::RolledBack:
    case LockState::Tombstone:
      return {Code::Already, "already rolled back"};
  }
  return {Code::Conflict, "unknown lock state"};
}

Reply Ledger::confirm(const std::string& order_no) {
  std::lock_guard guard(mutex_);
  auto it = records_.find(order_no);
  if (it == records_.end()) return {Code::NotFound, "order not locked"};
  LockRecord& record = it->second;
  ++record.confirms;
  switch (record.state) {
    case LockState::Locked:
      pool_->consume(record.item, record.qty);
      record.state = LockState::Confirmed;
      return {Code::Ok, ""};
    case LockState::Confirmed:
      return {Code::Already, "already confirmed"};
    case LockState::RolledBack:
    case LockState::Tombstone:
      return {Code::Conflict, "already rolled back"};
  }
  return {Code::Conflict, "unknown lock state"};
}

nlohmann::json Ledger::totals() const {
  std::lock_guard guard(mutex_);
  nlohmann::json orders = nlohmann::json::object();
  for (const auto& [order_no, record] : records_) {
    orders[order_no] = {{"state", to_string(record.state)},
                        {"item", record.item},
                        {"qty", record.qty},
                        {"rollbacks", record.rollbacks},
                        {"confirms", record.confirms}};
  }
  auto totals = pool_->totals();
  totals["orders"] = std::move(orders);
  return totals;
}

}  // namespace demo
