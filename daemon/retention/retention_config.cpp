#include "retention/retention_config.hpp"

#include "model/duration.hpp"
#include "yaml/fields.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace compensatord::retention {
namespace {

using namespace std::chrono_literals;

// A finished transaction must outlive the late arrivals of its own sources: a delayed check
// message or a legacy log row read again after its row was deleted would be ingested as a new
// transaction and reconciled a second time.
constexpr milliseconds kMinRetention = 1h;
constexpr milliseconds kMaxRetentionPause = 1min;

// A retention limit: a duration of at least kMinRetention, or `off` (nullopt: kept for ever).
void read_retention_limit(const yaml::Reader& section, std::string_view key, std::optional<milliseconds>& out) {
  auto text = section.string(key);
  if (!text) return;
  if (*text == "off") {
    out.reset();
    return;
  }
  auto value = parse_duration(*text);
  if (!value) {
    section.child(key).error(fmt::format("expected a duration like 30d, or off, got '{}'", *text));
    return;
  }
  if (*value < kMinRetention || *value > yaml::kMaxDuration) {
    section.child(key).error(fmt::format("must be at least 1h and at most 3650d (or off), got {}", *value));
    return;
  }
  out = *value;
}

}  // namespace

RetentionConfig parse_retention(const yaml::Reader& section) {
  RetentionConfig retention;
  if (!yaml::is_section(section)) return retention;
  section.reject_unknown_keys({"finished_after", "parked_after", "interval", "batch_size", "pause"});
  read_retention_limit(section, "finished_after", retention.finished_after);
  read_retention_limit(section, "parked_after", retention.parked_after);
  yaml::read_duration(section, "interval", retention.interval);
  yaml::read_integer(section, "batch_size", 1, 10000, retention.batch_size);
  yaml::read_bounded_duration(section, "pause", kMaxRetentionPause, "1m", retention.pause);
  return retention;
}

}  // namespace compensatord::retention
