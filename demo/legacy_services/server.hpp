#pragma once
// The sample legacy services (stock, coupon, order) behind one HTTP listener, behaving the way the
// seed systems do, with fault knobs. Used by tests/demo, scripts/demo.sh and the benchmark.

#include "legacy_services/knobs.hpp"

#include <map>
#include <memory>
#include <string>

namespace demo {

struct ServicesOptions {
  std::string listen = "127.0.0.1:18080";  // HOST:PORT
  int skus = 20;
  long long stock_per_sku = 1'000'000;
  int coupons = 100'000;
  std::string order_dsn;               // empty: the order API answers 503
  int order_db_connections = 4;        // and as many threads doing the order service's database work
  int order_queue = 256;               // order calls waiting for a database thread; one more is answered 503
  std::map<std::string, Knobs> knobs;  // by service: stock, coupon, order
  unsigned seed = 1;
};

inline constexpr const char* kServiceNames[] = {"stock", "coupon", "order"};

class LegacyServices {
 public:
  // Validates the options and connects the order database; throws std::invalid_argument naming
  // the option, or the database error.
  explicit LegacyServices(ServicesOptions options);
  ~LegacyServices();
  LegacyServices(const LegacyServices&) = delete;
  LegacyServices& operator=(const LegacyServices&) = delete;

  void start();                           // listens; throws when the address cannot be bound
  void stop();                            // idempotent
  [[nodiscard]] std::string url() const;  // "http://HOST:PORT"

 private:
  struct Impl;
  // Shared with the continuations that read request bodies, which may outlive a stop().
  std::shared_ptr<Impl> impl_;
};

}  // namespace demo
