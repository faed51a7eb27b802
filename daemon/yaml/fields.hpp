#pragma once
// Field readers shared by the modules' section parsers: the same bounds and the same error
// wording for a duration, a count, a name or a listen address wherever they appear.

#include "yaml/reader.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace compensatord::yaml {

using std::chrono::milliseconds;

// Keeps now() + any configured duration far away from the clock's range.
constexpr milliseconds kMaxDuration = std::chrono::hours(24 * 3650);
// The longest name of a kind or a source: names end up in table rows, metric labels and log lines.
constexpr std::size_t kMaxNameLength = 64;

// A section that is present must be a map; reading keys of a scalar would only produce
// misleading "required key is missing" errors. False when absent or not a map.
bool is_section(const Reader& reader);

// YAML keeps a duplicated key twice and lookups see only the first: the second would be ignored silently.
void reject_duplicate_keys(const Reader& reader);

// Reports a section that is required but absent or empty, at its key's line in `parent`.
void missing_section(const Reader& parent, std::string_view key, std::string message);

// 1 to kMaxNameLength letters, digits, '_', '-' or '.'; reports at `at` naming `what` otherwise.
bool valid_name(const Reader& at, std::string_view what, const std::string& name);

// "host:port" or "[v6]:port"; the daemon binds it, so a typo must fail at start.
bool valid_listen(const std::string& listen);

// Each reader leaves `out` alone when the key is absent or its value is refused (and reported).
// A positive duration at `key`, at most `max` (written `max_shown` in the error).
void read_bounded_duration(const Reader& parent, std::string_view key, milliseconds max, std::string_view max_shown,
                           milliseconds& out);
// A positive duration of at most kMaxDuration.
void read_duration(const Reader& parent, std::string_view key, milliseconds& out);
// A PostgreSQL session timeout (statement_timeout, lock_timeout): the server takes at most
// INT_MAX milliseconds, and a wait of a day is already a stuck worker (or a stuck poll).
void read_session_timeout(const Reader& parent, std::string_view key, milliseconds& out);
void read_number(const Reader& parent, std::string_view key, double min, double max, double& out);

// Two durations of one section where `key`'s must not exceed `limit_key`'s (values as read, defaults
// included): reports at `key` when it is written, else at `limit_key`.
void require_not_larger(const Reader& section, std::string_view key, milliseconds value, std::string_view limit_key,
                        milliseconds limit);

template <typename Int>
void read_integer(const Reader& parent, std::string_view key, std::int64_t min, std::int64_t max, Int& out) {
  if (auto value = parent.integer(key, min, max)) out = static_cast<Int>(*value);
}

}  // namespace compensatord::yaml
