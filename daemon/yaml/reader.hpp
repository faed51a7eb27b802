#pragma once
// Reading YAML config with errors that name the key path and line, the way an
// operator needs them: "participants.stock.timeout (line 12): expected a duration like 2s".

#include "model/duration.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::yaml {

struct ConfigError {
  std::string path;  // e.g. "participants.stock.actions.cancel.method"
  int line = 0;      // 1-based; 0 when unknown
  std::string message;

  [[nodiscard]] std::string to_string() const;
};

// Collects every error of one load, so an operator fixes them all in one go.
class ConfigErrors {
 public:
  void add(std::string path, int line, std::string message);
  [[nodiscard]] bool empty() const { return errors_.empty(); }
  [[nodiscard]] const std::vector<ConfigError>& all() const { return errors_; }
  [[nodiscard]] std::string to_string() const;  // one error per line

 private:
  std::vector<ConfigError> errors_;
};

// A YAML node together with its key path; typed getters report a ConfigError
// (and return nullopt / the fallback) instead of throwing.
class Reader {
 public:
  Reader(YAML::Node node, std::string path, ConfigErrors& errors, int parent_line = 0);

  [[nodiscard]] bool present() const;
  [[nodiscard]] bool is_map() const;
  [[nodiscard]] bool is_sequence() const;
  [[nodiscard]] bool is_scalar() const;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int line() const;
  [[nodiscard]] const YAML::Node& node() const { return node_; }
  [[nodiscard]] ConfigErrors& errors() const { return *errors_; }

  [[nodiscard]] Reader child(std::string_view key) const;
  [[nodiscard]] Reader item(std::size_t index) const;
  [[nodiscard]] std::size_t size() const;
  // Keys of a map in document order.
  [[nodiscard]] std::vector<std::string> keys() const;

  void error(std::string message) const;
  // Reports every key of this map that is not in `known`, and every key given twice.
  void reject_unknown_keys(const std::vector<std::string_view>& known) const;

  // Scalars. A required value that is missing is an error; an optional one returns nullopt.
  [[nodiscard]] std::optional<std::string> string(std::string_view key, bool required = false) const;
  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                                    bool required = false) const;
  [[nodiscard]] std::optional<double> number(std::string_view key, double min, double max, bool required = false) const;
  [[nodiscard]] std::optional<bool> boolean(std::string_view key, bool required = false) const;
  // Durations: "250ms", "2s", "5m", "1h", "1d" (plain integers are rejected: units are mandatory).
  [[nodiscard]] std::optional<std::chrono::milliseconds> duration(std::string_view key, bool required = false) const;
  // A map of string to string (e.g. headers).
  [[nodiscard]] std::map<std::string, std::string> string_map(std::string_view key) const;

  // This node's own scalar value.
  [[nodiscard]] std::optional<std::string> as_string() const;

 private:
  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  int parent_line_;
};

// Replaces ${NAME} with the environment variable NAME. An unset variable is an error
// naming it (never its value). "$${" escapes a literal "${".
std::optional<std::string> expand_env(std::string_view text, std::string& error);

}  // namespace compensatord::yaml
