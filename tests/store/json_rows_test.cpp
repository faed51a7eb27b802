// The batch documents are written by hand (store/json_rows.hpp): whatever bytes a participant
// answered, the document must parse as JSON, keep valid text exactly and replace only what jsonb
// cannot hold.
#include "store/json_rows.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace compensatord::store {
namespace {

std::string round_trip(std::string_view value) {
  std::string out;
  append_json_string(out, value);
  return nlohmann::json::parse(out).get<std::string>();
}

TEST(JsonRows, ValidTextSurvivesExactlyWhateverItHolds) {
  for (std::string_view value :
       {"", "plain", "quote \" backslash \\ slash /", "\x01\x1f\n\r\t\b\f", "é € 😀 \xf4\x8f\xbf\xbf",
        "'; DROP TABLE compensatord.transactions; --", "\\u0000 spelled out"}) {
    EXPECT_EQ(round_trip(value), value);
  }
}

TEST(JsonRows, InvalidUtf8AndNulBecomeReplacementCharacters) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(round_trip(std::string("a\0b", 3)), "a" + replacement + "b");
  EXPECT_EQ(round_trip("\xff"), replacement);
  EXPECT_EQ(round_trip("cut \xe2\x82"), "cut " + replacement + replacement);
  EXPECT_EQ(round_trip("overlong \xc0\xaf"), "overlong " + replacement + replacement);
  EXPECT_EQ(round_trip("surrogate \xed\xa0\x80"), "surrogate " + replacement + replacement + replacement);
  EXPECT_EQ(round_trip("past U+10FFFF \xf4\x90\x80\x80"),
            "past U+10FFFF " + replacement + replacement + replacement + replacement);
}

TEST(JsonRows, AHugeHostileValueStaysOneString) {
  std::string chunk = "\"},{\"xid\":\"x";
  chunk += '\0';
  chunk += "\xff\\";
  std::string hostile;
  for (int i = 0; i < 100000; ++i) hostile += chunk;
  const auto parsed = round_trip(hostile);
  EXPECT_EQ(parsed.size(), 100000u * (chunk.size() + 4));  // NUL and 0xff take three bytes each now
  EXPECT_EQ(parsed.find('\0'), std::string::npos);
}

TEST(JsonRows, RowsAreAnArrayOfFlatObjects) {
  JsonRows rows;
  rows.row().text("xid", "ORD-1").number("token", 42).number("http_status", std::optional<int>()).null("outcome");
  rows.row().text("xid", "ORD-\"2").number("http_status", std::optional<int>(503));
  const auto document = nlohmann::json::parse(std::move(rows).finish());
  ASSERT_EQ(document.size(), 2u);
  EXPECT_EQ(document[0],
            (nlohmann::json{{"xid", "ORD-1"}, {"token", 42}, {"http_status", nullptr}, {"outcome", nullptr}}));
  EXPECT_EQ(document[1], (nlohmann::json{{"xid", "ORD-\"2"}, {"http_status", 503}}));
  EXPECT_EQ(nlohmann::json::parse(JsonRows().finish()), nlohmann::json::array());
}

TEST(JsonRows, StringArraysCarryXids) {
  EXPECT_EQ(nlohmann::json::parse(json_string_array({"a", "b\"c", std::string("d\0", 2)})),
            (nlohmann::json{"a", "b\"c", "d\xEF\xBF\xBD"}));
  EXPECT_EQ(json_string_array({}), "[]");
}

}  // namespace
}  // namespace compensatord::store
