// Untrusted text in error messages: quoted, escaped, bounded.

#include "common/shown.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord {
namespace {

TEST(Shown, QuotesShortTextWhole) {
  EXPECT_EQ(shown("ORD-1", 64), "\"ORD-1\"");
  EXPECT_EQ(shown("", 64), "\"\"");
  EXPECT_EQ(shown("caf\xc3\xa9", 64), "\"caf\xc3\xa9\"");
}

TEST(Shown, EscapesWhatCouldForgeTheMessage) {
  EXPECT_EQ(shown("a\"b\nc\x01", 64), R"("a\"b\nc\u0001")");
  EXPECT_EQ(shown("a\xff", 64), "\"a\xef\xbf\xbd\"");  // invalid UTF-8 becomes U+FFFD
}

TEST(Shown, CutsLongTextBetweenTwoCharactersAndSaysSo) {
  EXPECT_EQ(shown(std::string(100, 'x'), 4), "\"xxxx\"...");
  EXPECT_EQ(shown("a\xc3\xa9\xc3\xa9", 4), "\"a\xc3\xa9\"...");  // not inside the second é
  EXPECT_EQ(shown(std::string(10 << 20, 'x'), 64).size(), 64u + 5u);
}

}  // namespace
}  // namespace compensatord
