// Kafka check messages: any bytes a producer can send either become a transaction within every
// limit of the format, or a rejection with a reason. Never an exception, never a crash.
//
// Input: a flags byte (bit 0: a key follows, up to the first newline; bit 1: the producer's
// timestamp follows, 8 bytes little-endian, milliseconds since the epoch), then the payload.
#include "fuzz_support.hpp"
#include "model/text.hpp"
#include "sources/kafka/check_message.hpp"

#include <chrono>
#include <cstring>
#include <variant>

using namespace compensatord;

namespace {

const kafka::MessageRules& rules() {
  static const kafka::MessageRules rules{
      .kinds = {"order"}, .participants = {"stock", "coupon"}, .min_delay = std::chrono::seconds(30)};
  return rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view input = fuzz::as_text(data + 1, size - 1);
  // The producer's timestamp is any 64-bit value; message_time bounds it by the read time.
  std::optional<std::int64_t> produced_ms;
  if ((flags & 2) != 0 && input.size() >= 8) {
    std::int64_t milliseconds = 0;
    std::memcpy(&milliseconds, input.data(), sizeof milliseconds);
    input.remove_prefix(8);
    produced_ms = milliseconds;
  }
  const TimePoint read_at = TimePoint(std::chrono::milliseconds(1'764'547'200'000));  // 2025-12-01
  constexpr std::chrono::seconds kSkew{30};
  kafka::CheckMessage message{.topic = "orders.check",
                              .key = std::nullopt,
                              .payload = {},
                              .timestamp = kafka::message_time(produced_ms, read_at, kSkew)};
  FUZZ_REQUIRE(message.timestamp >= read_at - kSkew && message.timestamp <= read_at + kSkew);
  if ((flags & 1) != 0) message.key = fuzz::take_until(input, '\n');
  message.payload = input;

  const auto parsed = kafka::parse_check_message(message, rules());
  if (const auto* txn = std::get_if<store::NewTransaction>(&parsed)) {
    FUZZ_REQUIRE(!txn->xid.empty() && txn->xid.size() <= kMaxXidBytes);
    FUZZ_REQUIRE(valid_utf8(txn->xid));
    FUZZ_REQUIRE(rules().kinds.contains(txn->kind));
    FUZZ_REQUIRE(!txn->branches.empty() && txn->branches.size() <= kMaxBranches);
    for (const auto& branch : txn->branches) {
      FUZZ_REQUIRE(rules().participants.contains(branch.participant));
      FUZZ_REQUIRE(branch.fields.is_object());
    }
    FUZZ_REQUIRE(!message.key || *message.key == txn->xid);
    FUZZ_REQUIRE(txn->due_at >= message.timestamp + rules().min_delay);
  } else {
    FUZZ_REQUIRE(!std::get<kafka::Rejection>(parsed).reason.empty());
  }
  return 0;
}
