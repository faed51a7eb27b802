#pragma once
// Structured log lines. Each part of the daemon writes through its own `Log`, named by its component
// ("reconciler", "kafka", ...), and passes what the line is about as fields (`xid`, `source`, ...).
// The component and the fields reach the line format as values, never as text to be parsed back:
// the json format writes each as its own key, the text format as "component: message key=value".
// Lines go to spdlog's default logger, so `logging.level` and `logging.format` apply to them.

#include <fmt/format.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <variant>

namespace compensatord::log {

enum class Level { debug, info, warn, error, critical };

// One key of a line besides time, level, component and msg. The value is borrowed: a field lives only
// for the call that writes its line.
struct Field {
  Field(std::string_view key, std::string_view text) : key(key), value(text) {}
  Field(std::string_view key, std::integral auto number) : key(key), value(static_cast<std::int64_t>(number)) {}

  std::string_view key;
  std::variant<std::string_view, std::int64_t> value;
};

using Fields = std::initializer_list<Field>;

class Log {
 public:
  explicit constexpr Log(std::string_view component) noexcept : component_(component) {}

  template <typename... Args>
  void log(Level level, Fields fields, fmt::format_string<Args...> format, Args&&... args) const {
    if (enabled(level)) write(level, fields, fmt::vformat(format, fmt::make_format_args(args...)));
  }

  template <typename... Args>
  void debug(Fields fields, fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::debug, fields, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(Fields fields, fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::info, fields, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warn(Fields fields, fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::warn, fields, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(Fields fields, fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::error, fields, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void critical(Fields fields, fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::critical, fields, format, std::forward<Args>(args)...);
  }

  template <typename... Args>
  void debug(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::debug, {}, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::info, {}, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::warn, {}, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::error, {}, format, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void critical(fmt::format_string<Args...> format, Args&&... args) const {
    log(Level::critical, {}, format, std::forward<Args>(args)...);
  }

  // False when logging.level drops lines of this level: nothing is formatted for them.
  [[nodiscard]] bool enabled(Level level) const;
  void write(Level level, Fields fields, std::string_view message) const;

 private:
  std::string_view component_;
};

}  // namespace compensatord::log
