#pragma once
// Response rules: map an HTTP answer to a name chosen by the caller ("done", "fatal", "committed", ...).
//
//   outcomes:
//     - {status: [200, "2xx"], json: {code: 0, "data.state": "DONE"}, then: done}
//     - {status: [404], then: not_found}
//
// The first matching rule wins. `status` lists codes or classes ("2xx"); absent means any status.
// `json` compares dotted paths of the response body ("items.0.id" indexes arrays) to YAML scalars:
// numbers compare by value (0 matches 0 and 0.0), quoted YAML values are strings, and a body that is
// not JSON never matches a rule that has `json`.

#include "yaml/reader.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace compensatord::adapters {

struct StatusPattern {
  int low = 0;  // inclusive; an exact code has low == high
  int high = 0;
};

struct ResponseRule {
  std::vector<StatusPattern> statuses;                                    // empty: any status
  std::vector<std::pair<std::vector<std::string>, nlohmann::json>> json;  // path segments -> expected scalar
  std::string then;
};

class ResponseRules {
 public:
  ResponseRules() = default;
  explicit ResponseRules(std::vector<ResponseRule> rules) : rules_(std::move(rules)) {}

  // The `then` of the first rule that matches, or nullopt.
  [[nodiscard]] std::optional<std::string> match(int status, std::string_view body) const;
  [[nodiscard]] bool empty() const { return rules_.empty(); }
  [[nodiscard]] const std::vector<ResponseRule>& rules() const { return rules_; }

 private:
  std::vector<ResponseRule> rules_;
};

// Parses a sequence of rules at `reader`. Every `then` must be one of `allowed_then`.
// Errors go to reader.errors() with key path and line. An absent node gives no rules.
ResponseRules parse_response_rules(const yaml::Reader& reader, std::vector<std::string> allowed_then);

}  // namespace compensatord::adapters
