#include "yaml/fields.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace compensatord::yaml {
namespace {

using namespace std::chrono_literals;

constexpr milliseconds kMaxSessionTimeout = std::chrono::hours(24);

// The line of `key` in the map at `parent`, 0 when the key is absent. A key without a value
// ("database:" then nothing) has a null node whose mark points past it, at the next line.
int key_line(const Reader& parent, std::string_view key) {
  if (!parent.is_map()) return 0;
  for (const auto& kv : parent.node()) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first.Mark().line + 1;
  }
  return 0;
}

bool is_name_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; }

}  // namespace

bool is_section(const Reader& reader) {
  if (!reader.present()) return false;
  if (!reader.is_map()) {
    reader.error("expected a map");
    return false;
  }
  return true;
}

void reject_duplicate_keys(const Reader& reader) {
  std::set<std::string> seen;
  for (const auto& key : reader.keys()) {
    if (!seen.insert(key).second) reader.child(key).error(fmt::format("duplicate key '{}'", key));
  }
}

void missing_section(const Reader& parent, std::string_view key, std::string message) {
  Reader section = parent.child(key);
  parent.errors().add(section.path(), key_line(parent, key), std::move(message));
}

bool valid_name(const Reader& at, std::string_view what, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || !std::all_of(name.begin(), name.end(), is_name_char)) {
    at.error(fmt::format("{} '{}' must be 1 to {} characters of letters, digits, '_', '-' or '.'", what,
                         name.substr(0, kMaxNameLength), kMaxNameLength));
    return false;
  }
  return true;
}

bool valid_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  std::string_view port = std::string_view(listen).substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  int number = std::stoi(std::string(port));
  return number >= 1 && number <= 65535;
}

void read_bounded_duration(const Reader& parent, std::string_view key, milliseconds max, std::string_view max_shown,
                           milliseconds& out) {
  auto value = parent.duration(key);
  if (!value) return;
  if (*value <= 0ms || *value > max) {
    parent.child(key).error(fmt::format("must be positive and at most {}, got {}", max_shown, *value));
    return;
  }
  out = *value;
}

void read_duration(const Reader& parent, std::string_view key, milliseconds& out) {
  read_bounded_duration(parent, key, kMaxDuration, "3650d", out);
}

void read_session_timeout(const Reader& parent, std::string_view key, milliseconds& out) {
  read_bounded_duration(parent, key, kMaxSessionTimeout, "1d", out);
}

void require_not_larger(const Reader& section, std::string_view key, milliseconds value, std::string_view limit_key,
                        milliseconds limit) {
  if (value <= limit) return;
  const Reader at = section.child(key).present() ? section.child(key) : section.child(limit_key);
  at.error(fmt::format("{} ({}) must not be larger than {} ({})", key, value, limit_key, limit));
}

void read_number(const Reader& parent, std::string_view key, double min, double max, double& out) {
  if (auto value = parent.number(key, min, max)) out = *value;
}

}  // namespace compensatord::yaml
