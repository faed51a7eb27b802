#include "health/health.hpp"

#include "log/log.hpp"

#include <fmt/format.h>

namespace compensatord::health {
namespace {
constexpr log::Log kLog{"health"};

std::optional<std::string> failure_of(const HealthCheck& check) {
  try {
    return check.failure();
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace

ProbeAnswer answer_probe(std::string_view endpoint, const std::vector<HealthCheck>& checks, bool verbose) {
  ProbeAnswer answer{.passed = true, .body = {}};
  for (const auto& check : checks) {
    if (auto failure = failure_of(check); failure && check.informational) {
      answer.body += fmt::format("[!]{}: {}\n", check.name, *failure);
    } else if (failure) {
      answer.passed = false;
      kLog.warn("{} check {} failed: {}", endpoint, check.name, *failure);
      answer.body += fmt::format("[-]{} failed: {}\n", check.name, *failure);
    } else {
      answer.body += fmt::format("[+]{} ok\n", check.name);
    }
  }
  if (!verbose) answer.body.clear();
  answer.body += fmt::format("{} check {}\n", endpoint, answer.passed ? "passed" : "failed");
  return answer;
}

}  // namespace compensatord::health
