// demo-traffic: plays the order service against legacy-services and compensatord's pending log
// and/or Kafka delayed check messages, lets a share of orders die half-way, then reports whether
// compensatord repaired them all.

#include "traffic/report.hpp"
#include "traffic/traffic.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

// Prints orders/s and deaths to stderr once a second until destroyed.
class ProgressDisplay {
 public:
  ProgressDisplay(const demo::TrafficCounters& counters, int total)
      : counters_(counters), total_(total), thread_([this] { loop(); }) {}
  ~ProgressDisplay() {
    {
      std::lock_guard guard(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

 private:
  void loop() {
    const auto start = Clock::now();
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; })) print(start);
    print(start);
  }

  void print(Clock::time_point start) const {
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const long long finished = counters_.finished();
    fmt::print(stderr, "demo-traffic: {}/{} orders, {:.0f}/s, placed {}, died {}, aborted {}, cancelled {}\n", finished,
               total_, seconds > 0 ? static_cast<double>(finished) / seconds : 0.0,
               counters_.count(demo::OrderEnd::Placed) + counters_.count(demo::OrderEnd::ConfirmFailed),
               counters_.count(demo::OrderEnd::Died), counters_.count(demo::OrderEnd::Aborted),
               counters_.count(demo::OrderEnd::Cancelled));
  }

  const demo::TrafficCounters& counters_;
  const int total_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

// Whether `path` appeared within `timeout`, looking every 200 ms.
bool wait_for_file(const std::string& path, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!std::filesystem::exists(path)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return true;
}

std::string default_run_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return fmt::format("demo-{}", std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Plays the order service against legacy-services and reports the consistency compensatord reached"};
  demo::TrafficOptions options;
  options.run_id = default_run_id();
  std::string checks = "pending_log";
  long long txn_timeout_ms = options.txn_timeout.count();
  bool wait = false;
  int timeout_s = 120;
  std::string converge_after;
  app.add_option("--dsn", options.dsn, "PostgreSQL DSN of compensatord's database")->required();
  app.add_option("--order-dsn", options.order_dsn, "DSN of the order database (default: --dsn)");
  app.add_option("--checks", checks,
                 "how orders register with compensatord: pending_log, kafka (a delayed check message; the order is "
                 "inserted into --order-dsn's demo_orders directly) or both")
      ->check(CLI::IsMember({"pending_log", "kafka", "both"}))
      ->capture_default_str();
  app.add_option("--kafka-brokers", options.kafka_brokers, "bootstrap servers for --checks kafka|both");
  app.add_option("--kafka-topic", options.kafka_topic, "topic of the delayed check messages")->capture_default_str();
  app.add_option("--services-url", options.services_url, "legacy-services base URL")->required();
  app.add_option("--orders", options.orders)->capture_default_str();
  app.add_option("--concurrency", options.concurrency)->capture_default_str();
  app.add_option("--die-rate", options.die_rate, "share of orders that die half-way")->capture_default_str();
  app.add_option("--coupon-share", options.coupon_share, "share of orders with a coupon")->capture_default_str();
  app.add_option("--skus", options.skus, "as legacy-services --skus")->capture_default_str();
  app.add_option("--coupons", options.coupons, "as legacy-services --coupons")->capture_default_str();
  app.add_option("--txn-timeout-ms", txn_timeout_ms, "p_timeout of begin_transaction")->capture_default_str();
  app.add_option("--run-id", options.run_id, "order number prefix (default demo-<unix time>)");
  app.add_option("--seed", options.seed)->capture_default_str();
  app.add_flag("--wait-for-convergence", wait, "poll compensatord.transactions until nothing is unfinished");
  app.add_option("--timeout", timeout_s, "seconds to wait for convergence")->capture_default_str();
  app.add_option("--converge-after", converge_after,
                 "start the convergence wait only once this file exists (scripts/chaos.sh creates it after its "
                 "last fault), waiting for it at most --timeout seconds");
  CLI11_PARSE(app, argc, argv);
  options.txn_timeout = std::chrono::milliseconds(txn_timeout_ms);
  options.checks = demo::parse_checks_mode(checks);
  const std::string order_dsn = options.order_dsn.empty() ? options.dsn : options.order_dsn;

  try {
    demo::TrafficCounters counters;
    {
      ProgressDisplay progress(counters, options.orders);
      demo::run_traffic(options, counters);
    }
    fmt::print("run {}\n{}", options.run_id, demo::format_traffic(counters));
    // Out now, not at exit: scripts/chaos.sh reads this line to note when the last order was placed.
    std::fflush(stdout);
    if (wait && !converge_after.empty() && !wait_for_file(converge_after, std::chrono::seconds(timeout_s))) {
      fmt::print("convergence: {} did not appear within {}s\n", converge_after, timeout_s);
    }
    if (wait) {
      const auto unfinished = demo::wait_for_convergence(
          options.dsn, options.run_id, counters.checks_published.load(), std::chrono::seconds(timeout_s),
          [](long long n) { fmt::print(stderr, "demo-traffic: waiting for compensatord, {} unfinished\n", n); });
      if (unfinished > 0) fmt::print("convergence: timed out after {}s with {} unfinished\n", timeout_s, unfinished);
    }
    const auto report = demo::build_report(options.run_id, demo::fetch_totals(options.services_url),
                                           demo::fetch_orders(order_dsn, options.run_id),
                                           demo::fetch_transactions(options.dsn, options.run_id),
                                           demo::fetch_trail(options.dsn, options.run_id), &counters.confirm_calls);
    fmt::print("{}", demo::format_report(report));
    std::fflush(stdout);
    return report.consistent() ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "demo-traffic: {}\n", e.what());
    return 2;
  }
}
