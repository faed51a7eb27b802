#pragma once
// A participant's adapter definition, parsed and validated from the `participants:` map
// (see adapters/README.md and config/example.yaml).

#include "adapters/response_rules.hpp"
#include "adapters/template.hpp"
#include "model/transaction.hpp"
#include "yaml/reader.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace compensatord::adapters {

inline constexpr int kMaxInFlightLimit = 10000;

// The `then` names of action outcome rules: the names of Outcome.
const std::vector<std::string>& outcome_rule_names();

struct ActionSpec {
  std::string method;  // GET POST PUT PATCH DELETE
  Template path;       // starts with '/'; placeholders are percent-encoded path segments
  std::vector<std::pair<std::string, Template>> query;
  std::vector<std::pair<std::string, Template>> headers;
  std::optional<JsonTemplate> body;                    // application/json
  std::vector<std::pair<std::string, Template>> form;  // application/x-www-form-urlencoded
  ResponseRules outcomes;                              // no match: retry
};

class ParticipantSpec {
 public:
  std::string base_url;  // http(s)://host[:port][/prefix], without a trailing '/'
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  int max_in_flight = 16;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every action; values may be secrets
  std::string idempotency_header = "Idempotency-Key";
  ActionSpec cancel;
  std::optional<ActionSpec> confirm;  // absent: confirm is a no-op

  // Null when the participant has no such action.
  [[nodiscard]] const ActionSpec* action(Decision decision) const;
};

// Parses one participant at `reader`; null on error (errors go to reader.errors()).
std::shared_ptr<const ParticipantSpec> parse_participant_spec(const yaml::Reader& reader);

}  // namespace compensatord::adapters
