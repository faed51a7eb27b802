#pragma once
// The check: "did transaction xid commit?", asked of the order database (SQL) or an HTTP endpoint.

#include "model/transaction.hpp"
#include "yaml/reader.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace compensatord::adapters {
class HttpTransport;
}

namespace compensatord::check {

struct CheckSpec;  // parsed, validated YAML (defined in check_spec.hpp)

struct CheckResult {
  CheckVerdict verdict = CheckVerdict::Unknown;
  std::optional<int> http_status;
  std::string error;            // why unknown
  std::string request_summary;  // "SQL orders-db" or "GET http://order/api/order/ORD-1"; never secrets
  std::chrono::milliseconds latency{0};
  // The question cannot even be asked for this transaction (its xid renders to no valid request):
  // asking again cannot help, so the reconciler parks it at once rather than after max_attempts.
  bool unaskable = false;
};

class Check {
 public:
  virtual ~Check() = default;
  // Never throws: database and HTTP errors become CheckVerdict::Unknown with the error text; a
  // request that cannot be rendered is Unknown and `unaskable`.
  virtual CheckResult run(const Transaction& txn) = 0;
};

// Parses a kind's `check:` (exactly one of `sql:` or `http:`). Errors go to reader.errors().
std::shared_ptr<const CheckSpec> parse_check(const yaml::Reader& reader);

std::unique_ptr<Check> make_check(std::shared_ptr<const CheckSpec> spec,
                                  std::shared_ptr<adapters::HttpTransport> transport);

}  // namespace compensatord::check
