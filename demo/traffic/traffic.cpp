#include "traffic/traffic.hpp"

#include "common/http_client.hpp"
#include "traffic/check_publisher.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace demo {

std::string_view to_string(DiePoint p) {
  switch (p) {
    case DiePoint::None:
      return "none";
    case DiePoint::AfterStockLock:
      return "after_stock_lock";
    case DiePoint::AfterCouponLock:
      return "after_coupon_lock";
    case DiePoint::BeforeOrderCreate:
      return "before_order_create";
    case DiePoint::AfterOrderCreate:
      return "after_order_create";
  }
  return "?";
}

std::string_view to_string(OrderEnd e) {
  switch (e) {
    case OrderEnd::Placed:
      return "placed";
    case OrderEnd::ConfirmFailed:
      return "confirm_failed";
    case OrderEnd::Died:
      return "died";
    case OrderEnd::Aborted:
      return "aborted";
    case OrderEnd::Cancelled:
      return "cancelled";
    case OrderEnd::BeginFailed:
      return "begin_failed";
  }
  return "?";
}

ChecksMode parse_checks_mode(std::string_view text) {
  if (text == "pending_log") return ChecksMode::PendingLog;
  if (text == "kafka") return ChecksMode::Kafka;
  if (text == "both") return ChecksMode::Both;
  throw std::invalid_argument("--checks: must be pending_log, kafka or both");
}

void OwnConfirmCalls::add(const std::string& participant, const std::string& order_no) {
  std::lock_guard guard(mutex_);
  ++calls_[{participant, order_no}];
}

int OwnConfirmCalls::count(const std::string& participant, const std::string& order_no) const {
  std::lock_guard guard(mutex_);
  const auto it = calls_.find({participant, order_no});
  return it == calls_.end() ? 0 : it->second;
}

long long TrafficCounters::finished() const {
  long long total = 0;
  for (const auto& n : ends) total += n.load();
  return total;
}

std::string order_no(const std::string& run_id, int n) { return fmt::format("{}-{:06}", run_id, n); }

namespace {

constexpr std::chrono::seconds kDatabaseWait{60};

struct OrderPlan {
  std::string order_no;
  std::string sku;
  long long qty = 1;
  std::string coupon_id;  // "" for an order without a coupon
  DiePoint die = DiePoint::None;
};

void validate(const TrafficOptions& o) {
  if (o.dsn.empty()) throw std::invalid_argument("--dsn: required");
  if (o.services_url.empty()) throw std::invalid_argument("--services-url: required");
  if (o.run_id.empty() || o.run_id.size() > 40) throw std::invalid_argument("--run-id: must be 1..40 characters");
  if (o.orders < 0 || o.orders > 10'000'000) throw std::invalid_argument("--orders: must be 0..10000000");
  if (o.concurrency < 1 || o.concurrency > 256) throw std::invalid_argument("--concurrency: must be 1..256");
  if (!(o.die_rate >= 0 && o.die_rate <= 1)) throw std::invalid_argument("--die-rate: must be 0..1");
  if (!(o.coupon_share >= 0 && o.coupon_share <= 1)) throw std::invalid_argument("--coupon-share: must be 0..1");
  if (o.skus < 1) throw std::invalid_argument("--skus: must be at least 1");
  if (o.coupons < 1) throw std::invalid_argument("--coupons: must be at least 1");
  if (o.txn_timeout <= std::chrono::milliseconds::zero()) throw std::invalid_argument("--txn-timeout-ms: must be > 0");
  if (o.checks != ChecksMode::PendingLog) {
    if (o.kafka_brokers.empty()) throw std::invalid_argument("--kafka-brokers: required with --checks kafka or both");
    if (o.kafka_topic.empty()) throw std::invalid_argument("--kafka-topic: required with --checks kafka or both");
  }
}

// Each order's plan comes from its own seed, so a run is repeatable whatever the thread interleaving.
OrderPlan plan_order(const TrafficOptions& o, int n) {
  std::mt19937_64 rng(o.seed * 1'000'003ULL + static_cast<unsigned long long>(n));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  OrderPlan plan;
  plan.order_no = order_no(o.run_id, n);
  plan.sku = fmt::format("SKU-{}", std::uniform_int_distribution<int>(1, o.skus)(rng));
  plan.qty = std::uniform_int_distribution<int>(1, 3)(rng);
  if (unit(rng) < o.coupon_share) {
    // Offset by run so a second run against the same services finds unused coupons.
    const auto offset = std::hash<std::string>{}(o.run_id) % static_cast<std::size_t>(o.coupons);
    plan.coupon_id = fmt::format("CPN-{}", (offset + static_cast<std::size_t>(n)) % o.coupons + 1);
  }
  if (unit(rng) < o.die_rate) {
    plan.die = kDiePoints[std::uniform_int_distribution<std::size_t>(0, kDiePoints.size() - 1)(rng)];
  }
  return plan;
}

nlohmann::json branches_of(const OrderPlan& plan) {
  auto branches = nlohmann::json::array();
  branches.push_back({{"participant", "stock"}, {"fields", {{"sku", plan.sku}, {"qty", plan.qty}}}});
  if (!plan.coupon_id.empty()) {
    branches.push_back({{"participant", "coupon"}, {"fields", {{"coupon_id", plan.coupon_id}}}});
  }
  return branches;
}

// The delayed check message of docs/kafka.md; its due time is compensatord's sources.kafka.min_delay.
std::string check_message(const OrderPlan& plan) {
  return nlohmann::json{{"xid", plan.order_no}, {"kind", "order"}, {"branches", branches_of(plan)}}.dump();
}

// The worker's connection to `dsn`, opened on first use and after it broke.
pqxx::connection& connected(std::unique_ptr<pqxx::connection>& connection, const std::string& dsn) {
  if (!connection || !connection->is_open()) connection = std::make_unique<pqxx::connection>(dsn);
  return *connection;
}

// The seed systems' success: 200 with code 0, or 1002 for a repeated call.
bool acknowledged(const HttpReply& reply) {
  if (reply.status != 200) return false;
  const auto body = nlohmann::json::parse(reply.body, nullptr, false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_number_integer()) return false;
  const int code = body["code"].get<int>();
  return code == 0 || code == 1002;
}

bool cancelled(const HttpReply& reply) {
  const auto body = nlohmann::json::parse(reply.body, nullptr, false);
  return reply.status == 409 && body.is_object() && body.value("code", 0) == 1006;
}

// One worker: its own database connection, orders taken from a shared counter.
class Worker {
 public:
  // `checks` is null when orders use the pending log only.
  Worker(const TrafficOptions& options, HttpClient& services, CheckPublisher* checks, TrafficCounters& counters)
      : options_(options), services_(services), checks_(checks), counters_(counters) {}

  void play(const OrderPlan& plan) {
    counters_.started.fetch_add(1);
    const OrderEnd end = run(plan);
    counters_.ends[static_cast<std::size_t>(end)].fetch_add(1);
    if (end == OrderEnd::Died) {
      for (std::size_t i = 0; i < kDiePoints.size(); ++i) {
        if (kDiePoints[i] == plan.die) counters_.died_at[i].fetch_add(1);
      }
    }
    if (database_lost_) wait_for_database();
  }

 private:
  OrderEnd run(const OrderPlan& plan) {
    if (!register_transaction(plan)) return OrderEnd::BeginFailed;
    if (!acknowledged(services_.post("/api/stock/lock", stock_body(plan)))) return OrderEnd::Aborted;
    if (plan.die == DiePoint::AfterStockLock) return OrderEnd::Died;
    if (!plan.coupon_id.empty() && !acknowledged(services_.post("/api/coupon/lock", coupon_body(plan)))) {
      return OrderEnd::Aborted;
    }
    if (plan.die == DiePoint::AfterCouponLock || plan.die == DiePoint::BeforeOrderCreate) return OrderEnd::Died;
    if (options_.checks == ChecksMode::Kafka) {
      if (!insert_order(plan)) return OrderEnd::Aborted;
    } else {
      const auto created = services_.post("/api/order/create", order_body(plan));
      if (cancelled(created)) return OrderEnd::Cancelled;
      if (!acknowledged(created)) return OrderEnd::Aborted;
    }
    if (plan.die == DiePoint::AfterOrderCreate) return OrderEnd::Died;
    counters_.confirm_calls.add("stock", plan.order_no);
    bool confirmed = acknowledged(services_.post("/api/stock/confirm/" + plan.order_no, stock_body(plan)));
    if (!plan.coupon_id.empty()) {
      counters_.confirm_calls.add("coupon", plan.order_no);
      confirmed = acknowledged(services_.post("/api/coupon/use/" + plan.order_no, coupon_body(plan))) && confirmed;
    }
    return confirmed ? OrderEnd::Placed : OrderEnd::ConfirmFailed;
  }

  // The pending-log row comes first, so the later check message finds the xid and leaves it as is.
  bool register_transaction(const OrderPlan& plan) {
    if (options_.checks != ChecksMode::Kafka && !begin_transaction(plan)) return false;
    if (options_.checks == ChecksMode::PendingLog) return true;
    if (!checks_->publish(plan.order_no, check_message(plan))) return false;
    counters_.checks_published.fetch_add(1);
    return true;
  }

  bool begin_transaction(const OrderPlan& plan) {
    try {
      pqxx::work work(connected(connection_, options_.dsn));
      const auto row = work.exec_params1("SELECT compensatord.begin_transaction($1, 'order', $2::jsonb, $3::interval)",
                                         plan.order_no, branches_of(plan).dump(),
                                         fmt::format("{} milliseconds", options_.txn_timeout.count()));
      work.commit();
      return row[0].as<bool>(false);
    } catch (const pqxx::broken_connection&) {
      connection_.reset();
      database_lost_ = true;
      return false;
    } catch (const std::exception&) {
      return false;
    }
  }

  // The database is restarting or down: as an order service's request handler would, the worker
  // counts the order it was placing as failed and takes no new order until the database accepts a
  // connection again (a restart would otherwise fail every order placed meanwhile, hundreds a
  // second). Gives up waiting after kDatabaseWait: orders then fail as they come.
  void wait_for_database() {
    database_lost_ = false;
    const auto deadline = std::chrono::steady_clock::now() + kDatabaseWait;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        connected(connection_, options_.dsn);
        return;
      } catch (const pqxx::broken_connection&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  // An order service without the pending log creates the order in its own database only: there is
  // no compensatord.commit_transaction to call, and the check message's delay (sources.kafka.min_delay)
  // is what keeps compensatord from checking before this insert.
  bool insert_order(const OrderPlan& plan) {
    try {
      pqxx::work work(connected(order_connection_, options_.order_dsn.empty() ? options_.dsn : options_.order_dsn));
      work.exec_params0(
          "INSERT INTO demo_orders (order_no, sku, qty, coupon_id) VALUES ($1, $2, $3, nullif($4, '')) "
          "ON CONFLICT (order_no) DO NOTHING",
          plan.order_no, plan.sku, plan.qty, plan.coupon_id);
      work.commit();
      return true;
    } catch (const pqxx::broken_connection&) {
      order_connection_.reset();
      database_lost_ = true;
      return false;
    } catch (const std::exception&) {
      return false;
    }
  }

  static std::string stock_body(const OrderPlan& plan) {
    return nlohmann::json{{"orderNo", plan.order_no}, {"sku", plan.sku}, {"qty", plan.qty}}.dump();
  }
  static std::string coupon_body(const OrderPlan& plan) {
    return nlohmann::json{{"orderNo", plan.order_no}, {"couponId", plan.coupon_id}}.dump();
  }
  static std::string order_body(const OrderPlan& plan) {
    return nlohmann::json{
        {"orderNo", plan.order_no}, {"sku", plan.sku}, {"qty", plan.qty}, {"couponId", plan.coupon_id}}
        .dump();
  }

  const TrafficOptions& options_;
  HttpClient& services_;
  CheckPublisher* checks_;
  TrafficCounters& counters_;
  std::unique_ptr<pqxx::connection> connection_;        // compensatord's database
  std::unique_ptr<pqxx::connection> order_connection_;  // the order database, for Kafka-only orders
  bool database_lost_ = false;                          // a connection broke during the last order
};

}  // namespace

void run_traffic(const TrafficOptions& options, TrafficCounters& counters) {
  validate(options);
  HttpClient services(options.services_url);
  std::unique_ptr<CheckPublisher> checks;
  if (options.checks != ChecksMode::PendingLog) {
    checks = std::make_unique<CheckPublisher>(options.kafka_brokers, options.kafka_topic, std::chrono::seconds(10));
  }
  std::atomic<int> next{0};
  std::vector<std::jthread> workers;
  for (int w = 0; w < options.concurrency; ++w) {
    workers.emplace_back([&] {
      Worker worker(options, services, checks.get(), counters);
      for (int n = next.fetch_add(1); n < options.orders; n = next.fetch_add(1)) worker.play(plan_order(options, n));
    });
  }
}

}  // namespace demo
