#pragma once
// The component and fields of the line being written, handed from `Log::write` to the line formats.
// spdlog 1.10 carries only a text payload to a formatter, and a synchronous logger formats on the
// thread that writes (the daemon makes no asynchronous one), so `Log::write` points a thread-local at
// its line for the length of the spdlog call; spdlog's own MDC (1.13 on) works the same way.

#include "log/log.hpp"

#include <string_view>

namespace compensatord::log {

struct Line {
  std::string_view component;
  Fields fields;
};

// The line `Log::write` is writing on this thread; null for a line written with spdlog directly.
const Line* line_being_written() noexcept;

}  // namespace compensatord::log
