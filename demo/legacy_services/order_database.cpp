#include "legacy_services/order_database.hpp"

#include <pqxx/pqxx>

namespace demo {

namespace {

constexpr const char* kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS demo_orders (
  order_no   text PRIMARY KEY,
  sku        text NOT NULL,
  qty        bigint NOT NULL,
  coupon_id  text,
  created_at timestamptz NOT NULL DEFAULT now()
))sql";

}  // namespace

// Borrows one connection for a call and gives it back; a broken one is replaced on the next borrow.
class OrderDatabase::Lease {
 public:
  explicit Lease(OrderDatabase& db) : db_(db) {
    std::unique_lock lock(db_.mutex_);
    db_.returned_.wait(lock, [this] { return !db_.idle_.empty(); });
    connection_ = std::move(db_.idle_.back());
    db_.idle_.pop_back();
    lock.unlock();
    try {
      if (!connection_ || !connection_->is_open()) connection_ = std::make_unique<pqxx::connection>(db_.dsn_);
    } catch (...) {
      give_back();  // the slot stays in the pool, to reconnect on a later borrow
      throw;
    }
  }
  ~Lease() { give_back(); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  pqxx::connection& operator*() { return *connection_; }

 private:
  void give_back() {
    {
      std::lock_guard guard(db_.mutex_);
      db_.idle_.push_back(std::move(connection_));
    }
    db_.returned_.notify_one();
  }

  OrderDatabase& db_;
  std::unique_ptr<pqxx::connection> connection_;
};

OrderDatabase::OrderDatabase(const std::string& dsn, int connections) : dsn_(dsn) {
  for (int i = 0; i < connections; ++i) idle_.push_back(std::make_unique<pqxx::connection>(dsn_));
  Lease lease(*this);
  pqxx::work work(*lease);
  work.exec0(kCreateTable);
  work.commit();
}

OrderDatabase::~OrderDatabase() = default;

CreateResult OrderDatabase::create(const Order& order) {
  Lease lease(*this);
  pqxx::work work(*lease);
  const auto inserted = work.exec_params(
      "INSERT INTO demo_orders (order_no, sku, qty, coupon_id) VALUES ($1, $2, $3, NULLIF($4, '')) "
      "ON CONFLICT (order_no) DO NOTHING",
      order.order_no, order.sku, order.qty, order.coupon_id);
  if (inserted.affected_rows() == 0) return CreateResult::AlreadyExists;
  // The same row compensatord would take to cancel: whoever takes it first decides.
  const bool committed =
      work.exec_params1("SELECT compensatord.commit_transaction($1)", order.order_no)[0].as<bool>(false);
  if (!committed) return CreateResult::Cancelled;
  work.commit();
  return CreateResult::Created;
}

std::optional<Order> OrderDatabase::find(const std::string& order_no) {
  Lease lease(*this);
  pqxx::read_transaction work(*lease);
  const auto rows = work.exec_params(
      "SELECT order_no, sku, qty, coalesce(coupon_id, '') FROM demo_orders WHERE order_no = $1", order_no);
  if (rows.empty()) return std::nullopt;
  return Order{rows[0][0].as<std::string>(), rows[0][1].as<std::string>(), rows[0][2].as<long long>(),
               rows[0][3].as<std::string>()};
}

}  // namespace demo
