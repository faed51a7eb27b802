#include "http/query.hpp"

#include "model/duration.hpp"
#include "model/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace compensatord::http {
namespace {

// A query longer than this is refused unread: every parameter together fits well inside it.
constexpr std::size_t kMaxQueryBytes = 8 * 1024;
// Kinds, sources and participants are configured names, far shorter than this.
constexpr std::size_t kMaxNameBytes = 512;
// Older than any stored row, and far inside PostgreSQL's timestamp range (now() minus a million
// days would be out of it: a 500 instead of an empty list).
constexpr std::chrono::hours kMaxOlderThan{24 * 36'500};

using Parameters = std::map<std::string, std::string, std::less<>>;

// A parameter's name as a 400 shows it: hostile names stay short and printable.
std::string shown(std::string_view name) {
  std::string out;
  for (const char c : utf8_prefix(name, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

// Splits "a=1&b=2" into decoded names and values; each name at most once, each in `allowed`.
std::variant<Parameters, PathProblem> parameters_of(std::string_view query,
                                                    std::initializer_list<std::string_view> allowed) {
  if (query.size() > kMaxQueryBytes)
    return PathProblem{fmt::format("the query must be at most {} bytes", kMaxQueryBytes)};
  Parameters parameters;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = percent_decoded(pair.substr(0, eq));
    auto value = percent_decoded(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return PathProblem{"malformed percent-encoding in the query"};
    if (std::find(allowed.begin(), allowed.end(), *name) == allowed.end()) {
      return PathProblem{fmt::format("unknown query parameter '{}'", shown(*name))};
    }
    if (!valid_utf8(*value) || value->find('\0') != std::string::npos) {
      return PathProblem{fmt::format("{} must be UTF-8 text without NUL", *name)};
    }
    if (!parameters.emplace(*name, std::move(*value)).second) {
      return PathProblem{fmt::format("query parameter {} is given more than once", *name)};
    }
  }
  return parameters;
}

const std::string* find(const Parameters& parameters, std::string_view name) {
  const auto found = parameters.find(name);
  return found == parameters.end() ? nullptr : &found->second;
}

std::optional<long long> whole_number(const std::string& text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<PathProblem> read_limit(const Parameters& parameters, std::string_view name, int& limit) {
  const auto* text = find(parameters, name);
  if (text == nullptr) return std::nullopt;
  const auto value = whole_number(*text);
  if (!value || *value < 1 || *value > store::kMaxPageSize) {
    return PathProblem{fmt::format("{} must be a whole number from 1 to {}", name, store::kMaxPageSize)};
  }
  limit = static_cast<int>(*value);
  return std::nullopt;
}

std::optional<PathProblem> read_name(const Parameters& parameters, std::string_view name, std::string& out) {
  const auto* text = find(parameters, name);
  if (text == nullptr) return std::nullopt;
  if (text->empty() || text->size() > kMaxNameBytes) {
    return PathProblem{fmt::format("{} must be 1..{} bytes", name, kMaxNameBytes)};
  }
  out = *text;
  return std::nullopt;
}

std::optional<PathProblem> read_filter(const Parameters& parameters, store::ListFilter& filter) {
  if (const auto* status = find(parameters, "status")) {
    filter.status = parse_status(*status);
    if (!filter.status) {
      return PathProblem{
          "status must be one of PENDING, COMMITTED, CONFIRMING, CANCELLING, CONFIRMED, CANCELLED, "
          "PARKED, ABANDONED"};
    }
  }
  if (const auto* age = find(parameters, "older_than")) {
    const auto parsed = parse_duration(*age);
    if (!parsed || *parsed > kMaxOlderThan) {
      return PathProblem{"older_than must be a duration like 90s, 15m, 2h or 7d, at most 36500d"};
    }
    filter.older_than = *parsed;
  }
  if (const auto* after = find(parameters, "after")) {
    if (after->empty() || after->size() > kMaxXidBytes) {
      return PathProblem{fmt::format("after must be an xid of 1..{} bytes", kMaxXidBytes)};
    }
    filter.after = *after;
  }
  for (const auto& [name, field] : {std::pair{"kind", &filter.kind}, std::pair{"participant", &filter.participant},
                                    std::pair{"source", &filter.source}}) {
    if (auto problem = read_name(parameters, name, *field)) return problem;
  }
  return read_limit(parameters, "limit", filter.limit);
}

}  // namespace

std::variant<store::ListFilter, PathProblem> list_filter_from_query(std::string_view query) {
  auto parameters = parameters_of(query, {"status", "kind", "participant", "source", "older_than", "limit", "after"});
  if (auto* problem = std::get_if<PathProblem>(&parameters)) return std::move(*problem);
  store::ListFilter filter;
  if (auto problem = read_filter(std::get<Parameters>(parameters), filter)) return std::move(*problem);
  return filter;
}

std::variant<AttemptPaging, PathProblem> attempt_paging_from_query(std::string_view query) {
  auto parameters = parameters_of(query, {"attempts_after", "attempts_limit"});
  if (auto* problem = std::get_if<PathProblem>(&parameters)) return std::move(*problem);
  const auto& named = std::get<Parameters>(parameters);
  AttemptPaging paging;
  if (const auto* after = find(named, "attempts_after")) {
    const auto value = whole_number(*after);
    if (!value || *value < 0) return PathProblem{"attempts_after must be an attempt id (a whole number, 0 or more)"};
    paging.after_id = *value;
  }
  if (auto problem = read_limit(named, "attempts_limit", paging.limit)) return std::move(*problem);
  return paging;
}

}  // namespace compensatord::http
