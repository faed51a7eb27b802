// Delayed check messages: what is accepted becomes exactly one NewTransaction; everything else is
// refused with a machine reason, whatever the input looks like.

#include "sources/kafka/check_message.hpp"
#include "model/text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <string>

namespace compensatord::kafka {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const TimePoint kSent = TimePoint(std::chrono::hours(24 * 20000));

MessageRules rules() {
  MessageRules r;
  r.kinds = {"order"};
  r.participants = {"stock", "coupon"};
  r.min_delay = 1min;
  r.max_message_bytes = 4096;
  return r;
}

json valid_document() {
  return json{{"xid", "ORD-1"},
              {"kind", "order"},
              {"branches",
               {{{"participant", "stock"}, {"fields", {{"sku", "A-1"}, {"qty", 2}}}},
                {{"participant", "coupon"}, {"fields", {{"coupon_id", "C-9"}, {"gift", true}}}}}}};
}

ParseResult parse(const std::string& payload, std::optional<std::string_view> key = std::nullopt,
                  const MessageRules& r = rules()) {
  return parse_check_message(CheckMessage{"checks", key, payload, kSent}, r);
}

store::NewTransaction accepted(const ParseResult& result) {
  if (const auto* rejection = std::get_if<Rejection>(&result)) {
    ADD_FAILURE() << "rejected: " << rejection->reason << ": " << rejection->error;
    return {};
  }
  return std::get<store::NewTransaction>(result);
}

std::string reason(const ParseResult& result) {
  const auto* rejection = std::get_if<Rejection>(&result);
  if (rejection == nullptr) {
    ADD_FAILURE() << "accepted, expected a rejection";
    return "";
  }
  EXPECT_FALSE(rejection->error.empty());
  return rejection->reason;
}

std::string with(const std::string& key, const json& value) {
  json d = valid_document();
  d[key] = value;
  return d.dump();
}

TEST(CheckMessage, ValidMessageBecomesATransaction) {
  auto txn = accepted(parse(valid_document().dump(), "ORD-1"));
  EXPECT_EQ(txn.xid, "ORD-1");
  EXPECT_EQ(txn.kind, "order");
  EXPECT_EQ(txn.source, "kafka:checks");
  ASSERT_EQ(txn.branches.size(), 2u);
  EXPECT_EQ(txn.branches[0].participant, "stock");
  EXPECT_EQ(txn.branches[0].fields, (json{{"sku", "A-1"}, {"qty", 2}}));
  EXPECT_EQ(txn.branches[1].fields.at("gift"), true);
  EXPECT_EQ(txn.due_at, kSent + 1min);
}

TEST(CheckMessage, DueAtUsesTheLargerOfMinDelayAndMessageDelay) {
  EXPECT_EQ(accepted(parse(with("delay", "5m"))).due_at, kSent + 5min);
  EXPECT_EQ(accepted(parse(with("delay_ms", 300000))).due_at, kSent + 5min);
  EXPECT_EQ(accepted(parse(with("delay", "10s"))).due_at, kSent + 1min);
  EXPECT_EQ(accepted(parse(with("delay_ms", 0))).due_at, kSent + 1min);
}

// The producer's timestamp is trusted within max_clock_skew of the time the message is read.
constexpr auto kSkew = std::chrono::milliseconds(30s);
const TimePoint kReadAt = kSent + 123ms + std::chrono::microseconds(456);

std::int64_t millis_of(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TEST(MessageTime, ATimestampWithinTheSkewIsTrusted) {
  EXPECT_EQ(message_time(millis_of(kSent), kReadAt, kSkew), kSent);
  EXPECT_EQ(message_time(millis_of(kReadAt - 29s), kReadAt, kSkew), TimePoint(kReadAt - 29s - 456us));
  EXPECT_EQ(message_time(millis_of(kReadAt + 29s), kReadAt, kSkew), TimePoint(kReadAt + 29s - 456us));
}

TEST(MessageTime, AZeroOrOldTimestampCountsFromTheReadTimeLessTheSkew) {
  EXPECT_EQ(message_time(0, kReadAt, kSkew), kReadAt - kSkew);
  EXPECT_EQ(message_time(-1, kReadAt, kSkew), kReadAt - kSkew);
  EXPECT_EQ(message_time(millis_of(kReadAt - 1h), kReadAt, kSkew), kReadAt - kSkew);
  EXPECT_EQ(message_time(millis_of(kReadAt - kSkew - 1s), kReadAt, kSkew), kReadAt - kSkew);
  EXPECT_EQ(message_time(std::numeric_limits<std::int64_t>::min(), kReadAt, kSkew), kReadAt - kSkew);
}

TEST(MessageTime, AFutureTimestampCountsFromTheReadTimePlusTheSkew) {
  EXPECT_EQ(message_time(millis_of(kReadAt + 1s + kSkew), kReadAt, kSkew), kReadAt + kSkew);
  EXPECT_EQ(message_time(millis_of(kReadAt + 24h * 365 * 100), kReadAt, kSkew), kReadAt + kSkew);
  // Milliseconds this large overflow the clock's nanoseconds if converted unchecked.
  EXPECT_EQ(message_time(std::numeric_limits<std::int64_t>::max(), kReadAt, kSkew), kReadAt + kSkew);
  EXPECT_EQ(message_time(std::numeric_limits<std::int64_t>::max() / 1000, kReadAt, kSkew), kReadAt + kSkew);
}

TEST(MessageTime, NoTimestampOrNoSkewIsTheReadTime) {
  EXPECT_EQ(message_time(std::nullopt, kReadAt, kSkew), kReadAt);
  EXPECT_EQ(message_time(0, kReadAt, 0ms), kReadAt);
  EXPECT_EQ(message_time(std::numeric_limits<std::int64_t>::max(), kReadAt, 0ms), kReadAt);
  EXPECT_EQ(message_time(millis_of(kReadAt - 1ms), kReadAt, 0ms), kReadAt);
}

TEST(CheckMessage, AZeroTimestampStillWaitsMinDelayLessTheSkewAfterReading) {
  const auto produced = message_time(0, kReadAt, kSkew);
  const auto txn =
      accepted(parse_check_message(CheckMessage{"checks", std::nullopt, valid_document().dump(), produced}, rules()));
  EXPECT_EQ(txn.due_at, kReadAt - kSkew + 1min);
  EXPECT_GT(txn.due_at, kReadAt);
}

TEST(CheckMessage, AMaximalTimestampIsDueOneSkewAfterTheDelay) {
  const auto produced = message_time(std::numeric_limits<std::int64_t>::max(), kReadAt, kSkew);
  const auto txn =
      accepted(parse_check_message(CheckMessage{"checks", std::nullopt, with("delay", "30d"), produced}, rules()));
  EXPECT_EQ(txn.due_at, kReadAt + kSkew + kMaxDelay);
}

TEST(CheckMessage, BranchWithoutFieldsHasAnEmptyObject) {
  auto txn = accepted(parse(with("branches", json::array({{{"participant", "stock"}}}))));
  EXPECT_EQ(txn.branches.at(0).fields, json::object());
}

TEST(CheckMessage, KeyMustEqualTheXid) {
  EXPECT_EQ(reason(parse(valid_document().dump(), "ORD-2")), "key_mismatch");
  accepted(parse(valid_document().dump(), std::nullopt));
}

TEST(CheckMessage, MalformedInputHasAReason) {
  EXPECT_EQ(reason(parse("")), "malformed_json");
  EXPECT_EQ(reason(parse("{\"xid\": ")), "malformed_json");
  EXPECT_EQ(reason(parse("{} trailing")), "malformed_json");
  EXPECT_EQ(reason(parse(with("delay_ms", 1).replace(0, 1, "{\"n\":1e400,"))), "malformed_json");
  EXPECT_EQ(reason(parse("[1, 2]")), "not_an_object");
  EXPECT_EQ(reason(parse("\"ORD-1\"")), "not_an_object");
}

TEST(CheckMessage, MissingAndMistypedFields) {
  for (const char* field : {"xid", "kind", "branches"}) {
    json d = valid_document();
    d.erase(field);
    EXPECT_EQ(reason(parse(d.dump())), std::string("missing_field:") + field);
  }
  EXPECT_EQ(reason(parse(with("xid", 42))), "wrong_type:xid");
  EXPECT_EQ(reason(parse(with("kind", json::array()))), "wrong_type:kind");
  EXPECT_EQ(reason(parse(with("branches", json::object()))), "wrong_type:branches");
  EXPECT_EQ(reason(parse(with("branches", json::array({"stock"})))), "wrong_type:branch");
  EXPECT_EQ(reason(parse(with("branches", json::array({{{"fields", json::object()}}})))), "missing_field:participant");
  EXPECT_EQ(reason(parse(with("branches", json::array({{{"participant", "stock"}, {"fields", "x"}}})))),
            "wrong_type:fields");
}

TEST(CheckMessage, UnknownNamesAreRefused) {
  EXPECT_EQ(reason(parse(with("kind", "refund"))), "unknown_kind:refund");
  EXPECT_EQ(reason(parse(with("branches", json::array({{{"participant", "points"}}})))), "unknown_participant:points");
  EXPECT_EQ(reason(parse(with("colour", "red"))), "unknown_field:colour");
  EXPECT_EQ(reason(parse(with("branches", json::array({{{"participant", "stock"}, {"extra", 1}}})))),
            "unknown_field:extra");
  // A hostile name stays out of the reason (it becomes a header), but the reason still says why.
  EXPECT_EQ(reason(parse(with("kind", "x\r\nSet-Cookie: a"))), "unknown_kind");
}

TEST(CheckMessage, XidLimits) {
  EXPECT_EQ(reason(parse(with("xid", ""))), "invalid_xid");
  EXPECT_EQ(reason(parse(with("xid", std::string(257, 'x')))), "invalid_xid");
  EXPECT_EQ(accepted(parse(with("xid", std::string(256, 'x')))).xid.size(), 256u);
  EXPECT_EQ(reason(parse(with("xid", "ORD\n1"))), "invalid_xid");
  EXPECT_EQ(reason(parse(with("xid", std::string("ORD\0"
                                                 "1",
                                                 5)))),
            "invalid_xid");
  EXPECT_EQ(accepted(parse(with("xid", "заказ-1/../'; DROP TABLE x;--"))).xid, "заказ-1/../'; DROP TABLE x;--");
}

TEST(CheckMessage, BranchLimits) {
  EXPECT_EQ(reason(parse(with("branches", json::array()))), "no_branches");
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back({{"participant", "stock"}});
  const auto refused = parse(with("branches", many));
  EXPECT_EQ(reason(refused), "too_many_branches");
  ASSERT_TRUE(std::holds_alternative<Rejection>(refused));
  EXPECT_EQ(std::get<Rejection>(refused).error, "65 branches, more than the limit of 64 per transaction");
  many.erase(many.begin());
  EXPECT_EQ(accepted(parse(with("branches", many), std::nullopt,
                           [] {
                             auto r = rules();
                             r.max_message_bytes = 1 << 20;
                             return r;
                           }()))
                .branches.size(),
            64u);
}

TEST(CheckMessage, FieldsAreNamedScalars) {
  auto branch_with = [](const json& fields) {
    return with("branches", json::array({{{"participant", "stock"}, {"fields", fields}}}));
  };
  EXPECT_EQ(reason(parse(branch_with({{"sku", json::array({1})}}))), "invalid_fields");
  EXPECT_EQ(reason(parse(branch_with({{"sku", json::object()}}))), "invalid_fields");
  EXPECT_EQ(reason(parse(branch_with({{"sku", nullptr}}))), "invalid_fields");
  EXPECT_EQ(reason(parse(branch_with({{"bad name", 1}}))), "invalid_fields");
  EXPECT_EQ(reason(parse(branch_with({{"", 1}}))), "invalid_fields");
  EXPECT_EQ(reason(parse(branch_with({{std::string(65, 'a'), 1}}))), "invalid_fields");
  EXPECT_EQ(reason(parse(branch_with({{"sku", std::string("A\0B", 3)}}))), "invalid_fields");
  json fields;
  for (int i = 0; i < 33; ++i) fields["f" + std::to_string(i)] = i;
  EXPECT_EQ(reason(parse(branch_with(fields))), "invalid_fields");
  fields.erase("f0");
  EXPECT_EQ(accepted(parse(branch_with(fields))).branches.at(0).fields.size(), 32u);
  EXPECT_EQ(accepted(parse(branch_with({{"note", "<script>\"\\u0001"}, {"qty", -1.5}}))).branches.at(0).fields.size(),
            2u);
}

TEST(CheckMessage, DelayRules) {
  EXPECT_EQ(reason(parse(with("delay", "5"))), "invalid_delay");
  EXPECT_EQ(reason(parse(with("delay", "-5m"))), "invalid_delay");
  EXPECT_EQ(reason(parse(with("delay", 300))), "invalid_delay");
  EXPECT_EQ(reason(parse(with("delay_ms", -1))), "invalid_delay");
  EXPECT_EQ(reason(parse(with("delay_ms", 1.5))), "invalid_delay");
  EXPECT_EQ(reason(parse(with("delay_ms", "300000"))), "invalid_delay");
  EXPECT_EQ(reason(parse(with("delay", "31d"))), "delay_too_long");
  EXPECT_EQ(reason(parse(with("delay", "999999999d"))), "delay_too_long");
  EXPECT_EQ(reason(parse(with("delay_ms", 18446744073709551615ULL))), "delay_too_long");
  EXPECT_EQ(accepted(parse(with("delay", "30d"))).due_at, kSent + std::chrono::hours(24 * 30));
  json both = valid_document();
  both["delay"] = "1m";
  both["delay_ms"] = 60000;
  EXPECT_EQ(reason(parse(both.dump())), "conflicting_delay");
}

TEST(CheckMessage, HugeAndHostilePayloads) {
  auto r = rules();
  EXPECT_EQ(reason(parse(std::string(r.max_message_bytes + 1, ' '))), "too_large");
  std::string padded = valid_document().dump();
  padded.resize(r.max_message_bytes, ' ');
  accepted(parse(padded));
  EXPECT_EQ(reason(parse(std::string(4000, '['))), "too_deep");
  auto big = rules();
  big.max_message_bytes = 16 << 20;
  EXPECT_EQ(reason(parse(std::string(8 << 20, '{'), std::nullopt, big)), "too_deep");
  // Brackets inside strings are text, not nesting.
  accepted(parse(with("branches", json::array({{{"participant", "stock"}, {"fields", {{"s", "[[[[[[[[[[{{{{{{"}}}}}))));
  EXPECT_EQ(reason(parse("{\"xid\": \"\xff\xfe\"}")), "invalid_utf8");
  EXPECT_EQ(reason(parse(valid_document().dump(), std::string_view("\xc0\xaf"))), "invalid_utf8");
  EXPECT_EQ(reason(parse("{\"xid\": \"\\ud800\"}")), "malformed_json");
}

TEST(CheckMessage, ErrorTextOfHostileInputIsBounded) {
  auto result = parse(with("kind", std::string(100000, 'k')), std::nullopt, [] {
    auto r = rules();
    r.max_message_bytes = 1 << 20;
    return r;
  }());
  const auto& rejection = std::get<Rejection>(result);
  EXPECT_EQ(rejection.reason, "unknown_kind");
  EXPECT_LT(rejection.error.size(), 200u);
  auto malformed = std::get<Rejection>(parse("\"" + std::string(3000, 'x')));
  EXPECT_LT(malformed.error.size(), 300u);
}

// docs/kafka-message.schema.json states the parser's limits; a changed limit must change both.
TEST(CheckMessageSchema, StatesTheParsersLimits) {
  std::ifstream file(std::string(COMPENSATORD_SOURCE_DIR) + "/docs/kafka-message.schema.json");
  ASSERT_TRUE(file) << "docs/kafka-message.schema.json is missing";
  json schema = json::parse(file);
  const json& p = schema.at("properties");
  EXPECT_EQ(schema.at("required"), (json{"xid", "kind", "branches"}));
  EXPECT_EQ(schema.at("additionalProperties"), false);
  EXPECT_EQ(p.size(), 5u);
  EXPECT_EQ(p.at("xid").at("maxLength"), kMaxXidBytes);
  EXPECT_EQ(p.at("branches").at("maxItems"), kMaxBranches);
  EXPECT_EQ(p.at("branches").at("minItems"), 1);
  const json& branch = p.at("branches").at("items");
  EXPECT_EQ(branch.at("properties").size(), 2u);
  EXPECT_EQ(branch.at("properties").at("fields").at("maxProperties"), kMaxFieldsPerBranch);
  EXPECT_EQ(branch.at("properties").at("fields").at("propertyNames").at("pattern"),
            "^[A-Za-z0-9_-]{1," + std::to_string(kMaxFieldNameBytes) + "}$");
  EXPECT_EQ(p.at("delay_ms").at("maximum"), kMaxDelay.count());
  // The schema's own example is a message the parser accepts.
  accepted(parse(schema.at("examples").at(0).dump()));
}

TEST(Utf8, AcceptsWellFormedAndRefusesTheRest) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));                      // U+10FFFF
  EXPECT_FALSE(valid_utf8("\x80"));                                 // lone continuation
  EXPECT_FALSE(valid_utf8("\xc3"));                                 // truncated
  EXPECT_FALSE(valid_utf8("\xc0\x80"));                             // overlong NUL
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));                         // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));                         // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));                     // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xf8\x88\x80\x80\x80"));                 // five bytes
}

}  // namespace
}  // namespace compensatord::kafka
