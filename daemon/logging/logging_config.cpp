#include "logging/logging_config.hpp"

#include "yaml/fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace compensatord::logging {
namespace {

constexpr std::array<std::string_view, 5> kLogLevels{"trace", "debug", "info", "warn", "error"};

}  // namespace

LoggingConfig parse_logging(const yaml::Reader& section) {
  LoggingConfig logging;
  if (!yaml::is_section(section)) return logging;
  section.reject_unknown_keys({"level", "format"});
  if (auto format = section.string("format")) {
    if (*format != "json" && *format != "text") {
      section.child("format").error(fmt::format("must be json or text, got '{}'", *format));
    }
    logging.format = *format;
  }
  if (auto level = section.string("level")) {
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) == kLogLevels.end()) {
      section.child("level").error(fmt::format("must be one of trace, debug, info, warn, error, got '{}'", *level));
    }
    logging.level = *level;
  }
  return logging;
}

}  // namespace compensatord::logging
