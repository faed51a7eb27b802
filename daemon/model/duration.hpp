#pragma once
// Durations as people write them, in the config and in the API's query parameters.

#include <chrono>
#include <optional>
#include <string_view>

namespace compensatord {

// Parses "250ms", "2s", "5m", "1h", "1d" (at most nine digits); nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace compensatord
