#include "sources/kafka/check_message.hpp"

#include "common/shown.hpp"
#include "model/duration.hpp"
#include "model/text.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <utility>

namespace compensatord::kafka {
namespace {

using nlohmann::json;
using Failure = std::optional<Rejection>;

constexpr std::size_t kShownBytes = 64;
constexpr std::size_t kShownParserErrorBytes = 200;
constexpr std::array<std::string_view, 5> kTopLevelFields{"xid", "kind", "branches", "delay", "delay_ms"};
constexpr std::array<std::string_view, 2> kBranchFields{"participant", "fields"};

Rejection reject(std::string reason, std::string error) { return Rejection{std::move(reason), std::move(error)}; }

bool is_name(std::string_view text) {
  return !text.empty() && text.size() <= kMaxFieldNameBytes && std::all_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x80 && std::isalnum(u)) || c == '_' || c == '-';
  });
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A reason names the offending value only when it is a harmless identifier: reasons become
// Kafka headers and metric-like tallies, so hostile text stays in the human error only.
std::string tagged(std::string_view reason, std::string_view value) {
  return is_name(value) ? fmt::format("{}:{}", reason, value) : std::string(reason);
}

// Depth of [ and { outside strings, counted before parsing so hostile nesting costs nothing.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

template <std::size_t N>
Failure reject_unknown_fields(const json& object, const std::array<std::string_view, N>& known,
                              std::string_view where) {
  for (const auto& [name, value] : object.items()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return reject(tagged("unknown_field", name), fmt::format("{}unknown field {}", where, shown(name, kShownBytes)));
    }
  }
  return std::nullopt;
}

Failure require_string(const json& object, std::string_view field, std::string_view where) {
  auto it = object.find(field);
  if (it == object.end()) {
    return reject(fmt::format("missing_field:{}", field), fmt::format("{}missing field \"{}\"", where, field));
  }
  if (!it->is_string()) {
    return reject(fmt::format("wrong_type:{}", field),
                  fmt::format("{}\"{}\" must be a string, got {}", where, field, it->type_name()));
  }
  return std::nullopt;
}

Failure check_xid(const std::string& xid, const std::optional<std::string_view>& key) {
  if (xid.empty() || xid.size() > kMaxXidBytes) {
    return reject("invalid_xid", fmt::format("xid must be 1 to {} bytes, got {}", kMaxXidBytes, xid.size()));
  }
  if (has_control(xid))
    return reject("invalid_xid", fmt::format("xid {} contains control characters", shown(xid, kShownBytes)));
  if (key && *key != xid) {
    return reject("key_mismatch",
                  fmt::format("message key {} differs from xid {}", shown(*key, kShownBytes), shown(xid, kShownBytes)));
  }
  return std::nullopt;
}

Failure check_field_value(const std::string& name, const json& value, std::string_view where) {
  if (value.is_boolean() || value.is_number()) return std::nullopt;
  if (value.is_string()) {
    // PostgreSQL text and jsonb cannot hold NUL; such a message could never be stored.
    if (value.get_ref<const std::string&>().find('\0') == std::string::npos) return std::nullopt;
    return reject("invalid_fields", fmt::format("{}field \"{}\" contains a NUL character", where, name));
  }
  return reject("invalid_fields", fmt::format("{}field \"{}\" must be a string, number or boolean, got {}", where, name,
                                              value.type_name()));
}

Failure parse_fields(const json& branch, const std::string& where, store::NewBranch& out) {
  auto it = branch.find("fields");
  if (it == branch.end()) return std::nullopt;
  if (!it->is_object()) {
    return reject("wrong_type:fields", fmt::format("{}\"fields\" must be an object, got {}", where, it->type_name()));
  }
  if (it->size() > kMaxFieldsPerBranch) {
    return reject("invalid_fields",
                  fmt::format("{}at most {} fields per branch, got {}", where, kMaxFieldsPerBranch, it->size()));
  }
  for (const auto& [name, value] : it->items()) {
    if (!is_name(name)) {
      return reject("invalid_fields", fmt::format("{}field name {} must be 1 to {} letters, digits, '_' or '-'", where,
                                                  shown(name, kShownBytes), kMaxFieldNameBytes));
    }
    if (auto failure = check_field_value(name, value, where)) return failure;
  }
  out.fields = *it;
  return std::nullopt;
}

Failure parse_branch(const json& branch, std::size_t index, const MessageRules& rules, store::NewBranch& out) {
  const std::string where = fmt::format("branches[{}]: ", index);
  if (!branch.is_object()) {
    return reject("wrong_type:branch", fmt::format("{}a branch must be an object, got {}", where, branch.type_name()));
  }
  if (auto failure = reject_unknown_fields(branch, kBranchFields, where)) return failure;
  if (auto failure = require_string(branch, "participant", where)) return failure;
  out.participant = branch.at("participant").get<std::string>();
  if (!rules.participants.contains(out.participant)) {
    return reject(tagged("unknown_participant", out.participant),
                  fmt::format("{}unknown participant {}", where, shown(out.participant, kShownBytes)));
  }
  return parse_fields(branch, where, out);
}

Failure parse_branches(const json& document, const MessageRules& rules, std::vector<store::NewBranch>& out) {
  auto it = document.find("branches");
  if (it == document.end()) return reject("missing_field:branches", "missing field \"branches\"");
  if (!it->is_array()) {
    return reject("wrong_type:branches", fmt::format("\"branches\" must be an array, got {}", it->type_name()));
  }
  if (it->empty()) return reject("no_branches", "\"branches\" is empty: there is nothing to check");
  if (it->size() > kMaxBranches) {
    return reject("too_many_branches", too_many_branches(it->size()));
  }
  out.resize(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (auto failure = parse_branch((*it)[i], i, rules, out[i])) return failure;
  }
  return std::nullopt;
}

// The message's own delay: "delay" ("5m") or "delay_ms" (300000), never both; zero when absent.
Failure parse_delay(const json& document, std::chrono::milliseconds& out) {
  auto text = document.find("delay");
  auto millis = document.find("delay_ms");
  if (text != document.end() && millis != document.end()) {
    return reject("conflicting_delay", "give \"delay\" or \"delay_ms\", not both");
  }
  if (text != document.end()) {
    auto value = text->is_string() ? parse_duration(text->get_ref<const std::string&>()) : std::nullopt;
    if (!value) return reject("invalid_delay", "\"delay\" must be a duration like 250ms, 2s, 5m, 1h or 1d");
    out = *value;
  } else if (millis != document.end()) {
    if (!millis->is_number_unsigned()) return reject("invalid_delay", "\"delay_ms\" must be a non-negative integer");
    // Compared as unsigned first: a huge value must not wrap when it becomes a duration.
    auto value = millis->get<std::uint64_t>();
    out = std::chrono::milliseconds(static_cast<std::int64_t>(std::min<std::uint64_t>(value, kMaxDelay.count() + 1)));
  }
  if (out > kMaxDelay) {
    return reject("delay_too_long", fmt::format("the delay may be at most {} days", kMaxDelay.count() / 86'400'000));
  }
  return std::nullopt;
}

// Checks that need no parsing come first, so a hostile payload is refused before it costs memory.
Failure check_envelope(const CheckMessage& message, const MessageRules& rules) {
  if (message.payload.size() > rules.max_message_bytes) {
    return reject("too_large",
                  fmt::format("message is {} bytes, the limit is {}", message.payload.size(), rules.max_message_bytes));
  }
  if (!valid_utf8(message.payload)) return reject("invalid_utf8", "message is not valid UTF-8");
  if (message.key && !valid_utf8(*message.key)) return reject("invalid_utf8", "message key is not valid UTF-8");
  if (nesting_depth(message.payload) > kMaxNesting) {
    return reject("too_deep", fmt::format("JSON nesting deeper than {} levels", kMaxNesting));
  }
  return std::nullopt;
}

Failure parse_document(const json& document, const CheckMessage& message, const MessageRules& rules,
                       store::NewTransaction& out) {
  if (!document.is_object()) {
    return reject("not_an_object", fmt::format("a message must be a JSON object, got {}", document.type_name()));
  }
  if (auto failure = reject_unknown_fields(document, kTopLevelFields, "")) return failure;
  if (auto failure = require_string(document, "xid", "")) return failure;
  out.xid = document.at("xid").get<std::string>();
  if (auto failure = check_xid(out.xid, message.key)) return failure;
  if (auto failure = require_string(document, "kind", "")) return failure;
  out.kind = document.at("kind").get<std::string>();
  if (!rules.kinds.contains(out.kind)) {
    return reject(tagged("unknown_kind", out.kind), fmt::format("unknown kind {}", shown(out.kind, kShownBytes)));
  }
  if (auto failure = parse_branches(document, rules, out.branches)) return failure;
  std::chrono::milliseconds delay{0};
  if (auto failure = parse_delay(document, delay)) return failure;
  out.source = fmt::format("kafka:{}", message.topic);
  out.due_at = message.timestamp + std::max(rules.min_delay, delay);
  return std::nullopt;
}

}  // namespace

TimePoint message_time(std::optional<std::int64_t> timestamp_ms, TimePoint read_at,
                       std::chrono::milliseconds max_skew) {
  using std::chrono::milliseconds;
  if (!timestamp_ms) return read_at;
  const TimePoint earliest = read_at - max_skew;
  const TimePoint latest = read_at + max_skew;
  // Compared in milliseconds first: converting a hostile timestamp such as INT64_MAX to the clock's
  // nanoseconds would overflow. Inside these bounds it is within a skew of now and converts safely.
  const milliseconds produced(*timestamp_ms);
  if (produced < std::chrono::floor<milliseconds>(earliest.time_since_epoch())) return earliest;
  if (produced > std::chrono::ceil<milliseconds>(latest.time_since_epoch())) return latest;
  return std::clamp(TimePoint(std::chrono::duration_cast<Clock::duration>(produced)), earliest, latest);
}

ParseResult parse_check_message(const CheckMessage& message, const MessageRules& rules) {
  if (auto failure = check_envelope(message, rules)) return *failure;
  json document;
  try {
    document = json::parse(message.payload);
  } catch (const json::exception& e) {
    // The parser's message quotes the offending token, which is untrusted and may be long.
    return reject("malformed_json", "malformed JSON: " + shown(e.what(), kShownParserErrorBytes));
  }
  store::NewTransaction txn;
  if (auto failure = parse_document(document, message, rules, txn)) return *failure;
  return txn;
}

}  // namespace compensatord::kafka
