#pragma once
// The pause of a background loop (a poll, a renewal, a backoff): a stop request ends it at once,
// so shutdown never waits out an interval.

#include <chrono>
#include <stop_token>

namespace compensatord {

// Returns after `duration`, or as soon as `stop` is requested.
void sleep_for(const std::stop_token& stop, std::chrono::milliseconds duration);

}  // namespace compensatord
