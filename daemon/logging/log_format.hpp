#pragma once
// Log line formats (logging.format): `json` writes one object per line with time, level,
// component, xid (when the message names one) and msg, for log pipelines; `text` is spdlog's
// usual human format. Messages follow the convention "component: text ... xid=XID ...".

#include <memory>
#include <string_view>

namespace spdlog {
class formatter;
}

namespace compensatord::logging {

// "json" or "text" (the values config accepts).
std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format);

// Sets the formatter of every registered logger, the default one included.
void use_log_format(std::string_view format);

}  // namespace compensatord::logging
