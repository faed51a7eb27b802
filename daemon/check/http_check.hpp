#pragma once

#include "adapters/http_transport.hpp"
#include "check/check.hpp"
#include "check/check_spec.hpp"

#include <memory>

namespace compensatord::check {

// Asks an HTTP endpoint of the order service; its outcome rules map the answer.
class HttpCheck final : public Check {
 public:
  HttpCheck(HttpCheckSpec spec, std::shared_ptr<adapters::HttpTransport> transport);
  CheckResult run(const Transaction& txn) override;

 private:
  [[nodiscard]] adapters::HttpRequest render(const Transaction& txn) const;

  HttpCheckSpec spec_;
  std::shared_ptr<adapters::HttpTransport> transport_;
};

}  // namespace compensatord::check
