#pragma once
// The order service's own database: demo_orders, written in one local transaction with
// compensatord.commit_transaction() so an order and its COMMITTED mark land together or not at all.

#include <pqxx/connection>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace demo {

struct Order {
  std::string order_no;
  std::string sku;
  long long qty = 0;
  std::string coupon_id;  // "" when the order uses no coupon
};

enum class CreateResult {
  Created,
  AlreadyExists,
  Cancelled  // compensatord had decided to cancel: the order must not exist
};

class OrderDatabase {
 public:
  // Connects `connections` times (the services answer concurrently) and creates demo_orders if missing.
  OrderDatabase(const std::string& dsn, int connections);
  ~OrderDatabase();
  OrderDatabase(const OrderDatabase&) = delete;
  OrderDatabase& operator=(const OrderDatabase&) = delete;

  // Throws pqxx errors on database failures (the caller answers 500).
  CreateResult create(const Order& order);
  std::optional<Order> find(const std::string& order_no);

 private:
  class Lease;
  std::string dsn_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
};

}  // namespace demo
