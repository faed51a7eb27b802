#pragma once
// `logging`: the level and the format of log lines.

#include "yaml/reader.hpp"

#include <string>

namespace compensatord::logging {

struct LoggingConfig {
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "json";  // json (one object per line) or text
};

// Reads the `logging` section (absent: the defaults), reporting each bad key to its errors.
LoggingConfig parse_logging(const yaml::Reader& section);

}  // namespace compensatord::logging
