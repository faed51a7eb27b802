#pragma once
// Captures what the default logger writes while it lives, in one of the daemon's line formats.

#include <nlohmann/json.hpp>

#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace compensatord::testing {

class LogCapture {
 public:
  // `format`: "text" or "json", as logging.format. Captures every level.
  explicit LogCapture(std::string_view format = "text");
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  [[nodiscard]] std::string text() const;
  // Each line parsed as JSON; a line that is not JSON fails the test that reads it.
  [[nodiscard]] std::vector<nlohmann::json> json_lines() const;

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace compensatord::testing
