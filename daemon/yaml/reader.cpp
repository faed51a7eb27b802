#include "yaml/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <set>

namespace compensatord::yaml {

std::string ConfigError::to_string() const {
  if (line > 0) return fmt::format("{} (line {}): {}", path.empty() ? "<root>" : path, line, message);
  return fmt::format("{}: {}", path.empty() ? "<root>" : path, message);
}

void ConfigErrors::add(std::string path, int line, std::string message) {
  errors_.push_back({std::move(path), line, std::move(message)});
}

std::string ConfigErrors::to_string() const {
  std::string out;
  for (const auto& e : errors_) {
    out += e.to_string();
    out += '\n';
  }
  return out;
}

Reader::Reader(YAML::Node node, std::string path, ConfigErrors& errors, int parent_line)
    : node_(node), path_(std::move(path)), errors_(&errors), parent_line_(parent_line) {}

bool Reader::present() const { return node_.IsDefined() && !node_.IsNull(); }
bool Reader::is_map() const { return node_.IsMap(); }
bool Reader::is_sequence() const { return node_.IsSequence(); }
bool Reader::is_scalar() const { return node_.IsScalar(); }

int Reader::line() const {
  // yaml-cpp marks are 0-based; a missing node has no mark, so point at its parent.
  if (node_.IsDefined() && node_.Mark().line >= 0) return node_.Mark().line + 1;
  return parent_line_;
}

namespace {
std::string join_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}
}  // namespace

Reader Reader::child(std::string_view key) const {
  YAML::Node found;
  if (node_.IsMap()) {
    for (const auto& kv : node_) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) {
        found = kv.second;
        break;
      }
    }
  }
  return Reader(found, join_path(path_, key), *errors_, line());
}

Reader Reader::item(std::size_t index) const {
  YAML::Node found;
  if (node_.IsSequence() && index < node_.size()) found = node_[index];
  return Reader(found, fmt::format("{}[{}]", path_, index), *errors_, line());
}

std::size_t Reader::size() const {
  if (node_.IsSequence() || node_.IsMap()) return node_.size();
  return 0;
}

std::vector<std::string> Reader::keys() const {
  std::vector<std::string> out;
  if (!node_.IsMap()) return out;
  for (const auto& kv : node_) {
    if (kv.first.IsScalar()) {
      out.push_back(kv.first.Scalar());
    } else {
      errors_->add(path_, kv.first.Mark().line + 1, "keys must be plain strings");
    }
  }
  return out;
}

void Reader::error(std::string message) const { errors_->add(path_, line(), std::move(message)); }

void Reader::reject_unknown_keys(const std::vector<std::string_view>& known) const {
  if (!node_.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) continue;
    const std::string& key = kv.first.Scalar();
    // yaml-cpp keeps a duplicated key and lookups see only the first: the second would be ignored silently.
    if (!seen.insert(key).second) {
      errors_->add(join_path(path_, key), kv.first.Mark().line + 1, fmt::format("duplicate key '{}'", key));
      continue;
    }
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string expected;
    for (auto k : known) {
      if (!expected.empty()) expected += ", ";
      expected += k;
    }
    errors_->add(join_path(path_, key), kv.first.Mark().line + 1,
                 fmt::format("unknown key '{}', expected one of: {}", key, expected));
  }
}

std::optional<std::string> Reader::as_string() const {
  if (!present()) return std::nullopt;
  if (!node_.IsScalar()) {
    error("expected a string");
    return std::nullopt;
  }
  std::string expand_error;
  auto expanded = expand_env(node_.Scalar(), expand_error);
  if (!expanded) error(expand_error);
  return expanded;
}

std::optional<std::string> Reader::string(std::string_view key, bool required) const {
  Reader c = child(key);
  if (!c.present()) {
    if (required) c.error("required key is missing");
    return std::nullopt;
  }
  return c.as_string();
}

std::optional<std::int64_t> Reader::integer(std::string_view key, std::int64_t min, std::int64_t max,
                                            bool required) const {
  auto text = string(key, required);
  if (!text) return std::nullopt;
  Reader c = child(key);
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || end != text->c_str() + text->size() || errno == ERANGE) {
    c.error(fmt::format("expected an integer, got '{}'", *text));
    return std::nullopt;
  }
  if (value < min || value > max) {
    c.error(fmt::format("must be between {} and {}, got {}", min, max, value));
    return std::nullopt;
  }
  return value;
}

std::optional<double> Reader::number(std::string_view key, double min, double max, bool required) const {
  auto text = string(key, required);
  if (!text) return std::nullopt;
  Reader c = child(key);
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || value != value) {
    c.error(fmt::format("expected a number, got '{}'", *text));
    return std::nullopt;
  }
  if (value < min || value > max) {
    c.error(fmt::format("must be between {} and {}, got {}", min, max, *text));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Reader::boolean(std::string_view key, bool required) const {
  auto text = string(key, required);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  child(key).error(fmt::format("expected true or false, got '{}'", *text));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> Reader::duration(std::string_view key, bool required) const {
  auto text = string(key, required);
  if (!text) return std::nullopt;
  auto value = parse_duration(*text);
  if (!value) child(key).error(fmt::format("expected a duration like 250ms, 2s, 5m, 1h or 1d, got '{}'", *text));
  return value;
}

std::map<std::string, std::string> Reader::string_map(std::string_view key) const {
  std::map<std::string, std::string> out;
  Reader c = child(key);
  if (!c.present()) return out;
  if (!c.is_map()) {
    c.error("expected a map of strings");
    return out;
  }
  for (const auto& k : c.keys()) {
    if (auto v = c.string(k, true)) out[k] = *v;
  }
  return out;
}

std::optional<std::string> expand_env(std::string_view text, std::string& error) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i];
      continue;
    }
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      error = "unclosed ${ in value";
      return std::nullopt;
    }
    std::string name(text.substr(i + 2, close - i - 2));
    bool valid = !name.empty() &&
                 std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
    if (!valid) {
      error = fmt::format("invalid environment variable name '${{{}}}'", name);
      return std::nullopt;
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      error = fmt::format("environment variable {} is not set", name);
      return std::nullopt;
    }
    out += value;
    i = close;
  }
  return out;
}

}  // namespace compensatord::yaml
