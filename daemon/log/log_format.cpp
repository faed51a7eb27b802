#include "log/log_format.hpp"

#include "log/line.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace compensatord::log {
namespace {

constexpr std::string_view kNoComponent = "compensatord";

// RFC 3339 in UTC with milliseconds: "2026-11-21T23:40:01.123Z".
std::string utc_time(spdlog::log_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(spdlog::log_clock::to_time_t(seconds)), millis);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto* line = line_being_written();
    nlohmann::json json;
    // The line's own keys are set after its fields: a field cannot hide them.
    if (line != nullptr) {
      for (const auto& field : line->fields) std::visit([&](auto value) { json[field.key] = value; }, field.value);
    }
    json["time"] = utc_time(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    json["level"] = std::string_view(level.data(), level.size());
    json["component"] = line != nullptr ? line->component : kNoComponent;
    json["msg"] = std::string_view(msg.payload.data(), msg.payload.size());
    // Messages quote participants' answers: invalid UTF-8 is replaced, not a reason to lose the line.
    const auto text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// A value is written bare when a reader can tell where it ends, quoted and escaped otherwise.
bool needs_quotes(std::string_view value) {
  return value.empty() || std::any_of(value.begin(), value.end(), [](unsigned char c) {
           return c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f;
         });
}

void append_field(const Field& field, spdlog::memory_buf_t& out) {
  fmt::format_to(std::back_inserter(out), " {}=", field.key);
  if (const auto* number = std::get_if<std::int64_t>(&field.value)) {
    fmt::format_to(std::back_inserter(out), "{}", *number);
  } else if (const auto text = std::get<std::string_view>(field.value); needs_quotes(text)) {
    fmt::format_to(std::back_inserter(out), "{:?}", text);
  } else {
    out.append(text.data(), text.data() + text.size());
  }
}

class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto* line = line_being_written();
    if (line == nullptr) return pattern_.format(msg, dest);
    spdlog::memory_buf_t message;
    fmt::format_to(std::back_inserter(message), "{}: {}", line->component,
                   std::string_view(msg.payload.data(), msg.payload.size()));
    for (const auto& field : line->fields) append_field(field, message);
    auto with_fields = msg;
    with_fields.payload = spdlog::string_view_t(message.data(), message.size());
    pattern_.format(with_fields, dest);
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(); }

 private:
  spdlog::pattern_formatter pattern_;
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format) {
  if (format == "json") return std::make_unique<JsonFormatter>();
  return std::make_unique<TextFormatter>();
}

void use_log_format(std::string_view format) { spdlog::set_formatter(make_log_formatter(format)); }

}  // namespace compensatord::log
