#include "logging/log_format.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace compensatord::logging {
namespace {

constexpr std::string_view kXidKey = "xid=";

bool is_component_char(unsigned char c) { return std::islower(c) || std::isdigit(c) || c == '_' || c == '-'; }

// "reconciler: xid=1 done" -> "reconciler"; empty when the message has no component prefix.
std::string_view component_of(std::string_view message) {
  const auto colon = message.find(": ");
  if (colon == std::string_view::npos || colon == 0) return {};
  const auto name = message.substr(0, colon);
  return std::all_of(name.begin(), name.end(), is_component_char) ? name : std::string_view{};
}

std::string_view xid_of(std::string_view message) {
  const auto at = message.find(kXidKey);
  if (at == std::string_view::npos || (at > 0 && message[at - 1] != ' ')) return {};
  const auto value = message.substr(at + kXidKey.size());
  return value.substr(0, value.find(' '));
}

// RFC 3339 in UTC with milliseconds: "2026-11-21T23:40:01.123Z".
std::string utc_time(spdlog::log_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(spdlog::log_clock::to_time_t(seconds)), millis);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const auto component = component_of(text);
    nlohmann::json line;
    line["time"] = utc_time(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string_view(level.data(), level.size());
    line["component"] = component.empty() ? "compensatord" : component;
    if (const auto xid = xid_of(text); !xid.empty()) line["xid"] = xid;
    line["msg"] = component.empty() ? text : text.substr(component.size() + 2);
    // Messages quote participants' answers: invalid UTF-8 is replaced, not a reason to lose the line.
    const auto json = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(json.data(), json.data() + json.size());
    dest.push_back('\n');
  }

  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format) {
  if (format == "json") return std::make_unique<JsonFormatter>();
  return std::make_unique<spdlog::pattern_formatter>();
}

void use_log_format(std::string_view format) { spdlog::set_formatter(make_log_formatter(format)); }

}  // namespace compensatord::logging
