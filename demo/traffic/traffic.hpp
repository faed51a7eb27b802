#pragma once
// demo-traffic plays the order service: per order it registers the transaction with compensatord
// (in the pending log, as a delayed check message on Kafka, or both), locks stock and a coupon,
// creates the order and confirms, and "dies" half-way for a share of orders, leaving the
// half-finished transactions compensatord has to repair.

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace demo {

// How an order registers its transaction with compensatord before it touches a participant.
enum class ChecksMode {
  PendingLog,  // compensatord.begin_transaction(); the order service's create commits it
  Kafka,       // a delayed check message only; the order is inserted into demo_orders directly
  Both,        // begin_transaction, then the check message for the same xid
};
// Parses pending_log|kafka|both; throws std::invalid_argument otherwise.
ChecksMode parse_checks_mode(std::string_view text);

struct TrafficOptions {
  std::string dsn;           // compensatord's database: compensatord.begin_transaction()
  std::string order_dsn;     // the order database (demo_orders) for Kafka-only orders; "" = dsn
  std::string services_url;  // legacy-services, e.g. http://127.0.0.1:18080
  std::string run_id;        // order numbers are <run_id>-<n>
  int orders = 1000;
  int concurrency = 8;
  double die_rate = 0.25;
  double coupon_share = 0.5;
  int skus = 20;          // SKU-1 .. SKU-<skus>, as legacy-services --skus
  int coupons = 100'000;  // CPN-1 .. CPN-<coupons>, as legacy-services --coupons
  std::chrono::milliseconds txn_timeout{std::chrono::seconds(2)};  // p_timeout of begin_transaction
  unsigned seed = 1;
  ChecksMode checks = ChecksMode::PendingLog;
  std::string kafka_brokers;                 // required unless checks is PendingLog
  std::string kafka_topic = "order-checks";  // a topic of compensatord's sources.kafka
};

// Where an order dies: it stops right there, leaving whatever it did so far.
enum class DiePoint { None, AfterStockLock, AfterCouponLock, BeforeOrderCreate, AfterOrderCreate };
inline constexpr std::array kDiePoints = {DiePoint::AfterStockLock, DiePoint::AfterCouponLock,
                                          DiePoint::BeforeOrderCreate, DiePoint::AfterOrderCreate};
std::string_view to_string(DiePoint p);

// How an order's flow ended.
enum class OrderEnd {
  Placed,         // created and confirmed at both participants
  ConfirmFailed,  // created, but a confirm call failed: compensatord must confirm
  Died,           // stopped at its die point
  Aborted,        // a participant or the order service answered with an error: the flow gave up
  Cancelled,      // the order service refused: compensatord had already cancelled the transaction
  BeginFailed,    // begin_transaction or publishing the check failed: nothing else was done
};
inline constexpr std::size_t kOrderEnds = 6;
std::string_view to_string(OrderEnd e);

// The confirm calls the order service made itself, per participant and order: the report takes
// them from what a participant received to find the calls compensatord made.
class OwnConfirmCalls {
 public:
  void add(const std::string& participant, const std::string& order_no);
  [[nodiscard]] int count(const std::string& participant, const std::string& order_no) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, int> calls_;
};

// Live counters, read by the progress display while the run goes on.
struct TrafficCounters {
  std::array<std::atomic<long long>, kOrderEnds> ends{};
  std::array<std::atomic<long long>, kDiePoints.size()> died_at{};
  std::atomic<long long> started{0};
  std::atomic<long long> checks_published{0};  // each becomes one transaction once compensatord ingests it
  OwnConfirmCalls confirm_calls;

  [[nodiscard]] long long finished() const;
  [[nodiscard]] long long count(OrderEnd e) const { return ends[static_cast<std::size_t>(e)].load(); }
};

// The order number of the n-th order of a run.
std::string order_no(const std::string& run_id, int n);

// Plays options.orders orders with options.concurrency workers; returns when all have ended.
// Throws std::invalid_argument naming the option when an option is out of range.
void run_traffic(const TrafficOptions& options, TrafficCounters& counters);

}  // namespace demo
