#pragma once
// Delayed check messages: the order service's "check this order later" on a Kafka topic
// (docs/kafka.md, docs/kafka-message.schema.json). Parsing is pure: no Kafka, no database,
// so every rule about what a message may contain is tested here.

#include "store/store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

namespace compensatord::kafka {

// What a message may name and how big it may be.
struct MessageRules {
  std::set<std::string, std::less<>> kinds;         // configured transaction kinds
  std::set<std::string, std::less<>> participants;  // configured participants
  std::chrono::milliseconds min_delay{std::chrono::minutes(1)};
  std::size_t max_message_bytes = 1024 * 1024;
};

// Limits of the format; docs/kafka-message.schema.json states the same numbers. The xid and branch
// limits are compensatord::kMaxXidBytes and kMaxBranches (model/transaction.hpp), the same for
// every source.
inline constexpr std::size_t kMaxFieldsPerBranch = 32;
inline constexpr std::size_t kMaxFieldNameBytes = 64;
inline constexpr std::size_t kMaxNesting = 8;  // deeper JSON is hostile, not a check message
inline constexpr std::chrono::milliseconds kMaxDelay = std::chrono::hours(24 * 30);

// One consumed record, as the consumer hands it over.
struct CheckMessage {
  std::string_view topic;
  std::optional<std::string_view> key;  // the Kafka message key; when present it must equal the xid
  std::string_view payload;
  TimePoint timestamp;  // when the message was produced, as message_time() bounds it
};

// The instant a message's delays count from. The record's timestamp (the producer's CreateTime,
// milliseconds since the epoch) is trusted only within `max_skew` of `read_at`, the time
// compensatord read the message: a producer clock may lead or lag by at most that much. An older,
// zero or negative timestamp counts from read_at - max_skew (an untrusted old one would skip
// min_delay), a later one from read_at + max_skew (an untrusted future one would postpone the
// check forever), a missing one (nullopt) from read_at. Never overflows, whatever the timestamp.
TimePoint message_time(std::optional<std::int64_t> timestamp_ms, TimePoint read_at, std::chrono::milliseconds max_skew);

// Why a message goes to the dead-letter topic: `reason` is short and machine-readable
// ("malformed_json", "missing_field:xid", "unknown_participant:points"), `error` is for a human.
struct Rejection {
  std::string reason;
  std::string error;
};

using ParseResult = std::variant<store::NewTransaction, Rejection>;

// The transaction a message asks to check: source "kafka:<topic>", due at the message timestamp
// plus the larger of rules.min_delay and the message's own delay. Never throws for bad input.
ParseResult parse_check_message(const CheckMessage& message, const MessageRules& rules);

}  // namespace compensatord::kafka
