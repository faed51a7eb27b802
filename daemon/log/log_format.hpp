#pragma once
// Log line formats (logging.format). `json` writes one object per line: time, level, component, msg
// and each field of the line as its own key, for log pipelines. `text` is spdlog's usual human line
// with "component: message key=value ..." as its message. A line written with spdlog directly (not
// through a `Log`) has the component "compensatord" and no fields.

#include <memory>
#include <string_view>

namespace spdlog {
class formatter;
}

namespace compensatord::log {

// "json" or "text" (the values config accepts).
std::unique_ptr<spdlog::formatter> make_log_formatter(std::string_view format);

// Sets the formatter of every registered logger, the default one included.
void use_log_format(std::string_view format);

}  // namespace compensatord::log
