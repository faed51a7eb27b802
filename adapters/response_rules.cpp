#include "adapters/response_rules.hpp"

#include "adapters/template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace compensatord::adapters {
namespace {

constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;

std::optional<StatusPattern> parse_status_text(std::string_view text) {
  if (text.size() == 3 && text[0] >= '1' && text[0] <= '5' && (text[1] == 'x' || text[1] == 'X') &&
      (text[2] == 'x' || text[2] == 'X')) {
    int base = (text[0] - '0') * 100;
    return StatusPattern{base, base + 99};
  }
  int code = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (ec != std::errc() || ptr != text.data() + text.size() || code < kMinStatus || code > kMaxStatus) {
    return std::nullopt;
  }
  return StatusPattern{code, code};
}

void parse_status_item(const yaml::Reader& item, std::vector<StatusPattern>& out) {
  if (!item.is_scalar()) {
    item.error("expected a status code like 200 or a class like \"5xx\"");
    return;
  }
  auto text = item.as_string();
  if (!text) return;
  if (auto pattern = parse_status_text(*text)) {
    out.push_back(*pattern);
  } else {
    item.error(fmt::format("expected a status code 100..599 or a class like \"5xx\", got '{}'", text->substr(0, 64)));
  }
}

std::vector<StatusPattern> parse_statuses(const yaml::Reader& reader) {
  std::vector<StatusPattern> out;
  if (!reader.present()) return out;
  if (reader.is_sequence()) {
    if (reader.size() == 0) reader.error("an empty status list never matches; omit `status` to match any");
    for (std::size_t i = 0; i < reader.size(); ++i) parse_status_item(reader.item(i), out);
  } else {
    parse_status_item(reader, out);
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    out.emplace_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

std::vector<std::pair<std::vector<std::string>, nlohmann::json>> parse_json_conditions(const yaml::Reader& reader) {
  std::vector<std::pair<std::vector<std::string>, nlohmann::json>> out;
  if (!reader.present()) return out;
  if (!reader.is_map()) {
    reader.error("expected a map of dotted JSON path to expected value, e.g. {code: 0}");
    return out;
  }
  for (const auto& key : reader.keys()) {
    yaml::Reader value = reader.child(key);
    auto segments = split_path(key);
    if (std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); })) {
      value.error(fmt::format("invalid JSON path '{}': empty segment", key.substr(0, 64)));
      continue;
    }
    if (!value.is_scalar() && value.present()) {
      value.error("expected a scalar (string, number, boolean or null)");
      continue;
    }
    nlohmann::json expected = value.present() ? yaml_scalar_to_json(value.node()) : nlohmann::json(nullptr);
    out.emplace_back(std::move(segments), std::move(expected));
  }
  return out;
}

std::optional<ResponseRule> parse_rule(const yaml::Reader& reader, const std::vector<std::string>& allowed_then) {
  if (!reader.is_map()) {
    reader.error("expected a rule like {status: [200], json: {code: 0}, then: done}");
    return std::nullopt;
  }
  std::size_t errors_before = reader.errors().all().size();
  reader.reject_unknown_keys({"status", "json", "then"});
  ResponseRule rule;
  rule.statuses = parse_statuses(reader.child("status"));
  rule.json = parse_json_conditions(reader.child("json"));
  if (auto then = reader.string("then", true)) {
    if (std::find(allowed_then.begin(), allowed_then.end(), *then) == allowed_then.end()) {
      reader.child("then").error(
          fmt::format("unknown outcome '{}', expected one of: {}", then->substr(0, 64), fmt::join(allowed_then, ", ")));
    }
    rule.then = *then;
  }
  if (reader.errors().all().size() != errors_before) return std::nullopt;
  return rule;
}

bool status_matches(const ResponseRule& rule, int status) {
  if (rule.statuses.empty()) return true;
  return std::any_of(rule.statuses.begin(), rule.statuses.end(),
                     [status](const StatusPattern& p) { return status >= p.low && status <= p.high; });
}

const nlohmann::json* find_path(const nlohmann::json& root, const std::vector<std::string>& segments) {
  const nlohmann::json* node = &root;
  for (const auto& segment : segments) {
    if (node->is_object()) {
      auto it = node->find(segment);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      auto [ptr, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (ec != std::errc() || ptr != segment.data() + segment.size() || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

bool scalar_equal(const nlohmann::json& actual, const nlohmann::json& expected) {
  if (actual.is_number() && expected.is_number()) {
    bool both_integers = !actual.is_number_float() && !expected.is_number_float();
    // Integer compare keeps large ids exact; nlohmann compares signed and unsigned by value.
    if (both_integers) return actual == expected;
    return actual.get<double>() == expected.get<double>();
  }
  return actual.type() == expected.type() && actual == expected;
}

bool json_matches(const ResponseRule& rule, const nlohmann::json& body) {
  return std::all_of(rule.json.begin(), rule.json.end(), [&body](const auto& condition) {
    const nlohmann::json* actual = find_path(body, condition.first);
    return actual != nullptr && scalar_equal(*actual, condition.second);
  });
}

}  // namespace

std::optional<std::string> ResponseRules::match(int status, std::string_view body) const {
  std::optional<nlohmann::json> parsed;  // parsed at most once, and only if a json rule needs it
  for (const auto& rule : rules_) {
    if (!status_matches(rule, status)) continue;
    if (!rule.json.empty()) {
      if (!parsed) parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (parsed->is_discarded() || !json_matches(rule, *parsed)) continue;
    }
    return rule.then;
  }
  return std::nullopt;
}

ResponseRules parse_response_rules(const yaml::Reader& reader, std::vector<std::string> allowed_then) {
  if (!reader.present()) return {};
  if (!reader.is_sequence()) {
    reader.error("expected a list of rules like - {status: [200], then: done}");
    return {};
  }
  std::vector<ResponseRule> rules;
  for (std::size_t i = 0; i < reader.size(); ++i) {
    if (auto rule = parse_rule(reader.item(i), allowed_then)) rules.push_back(std::move(*rule));
  }
  return ResponseRules(std::move(rules));
}

}  // namespace compensatord::adapters
