// Text checks on untrusted input: a cut never ends inside a UTF-8 sequence.

#include "model/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord {
namespace {

TEST(Utf8Prefix, KeepsShortTextWhole) {
  EXPECT_EQ(utf8_prefix("", 0), "");
  EXPECT_EQ(utf8_prefix("abc", 3), "abc");
  EXPECT_EQ(utf8_prefix("\xc3\xa9t\xc3\xa9", 64), "\xc3\xa9t\xc3\xa9");
}

TEST(Utf8Prefix, CutsBetweenTwoCharacters) {
  EXPECT_EQ(utf8_prefix("abc", 2), "ab");
  EXPECT_EQ(utf8_prefix("abc", 0), "");
  EXPECT_EQ(utf8_prefix("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9");             // not inside the second é
  EXPECT_EQ(utf8_prefix("a\xe2\x82\xac", 3), "a");                       // not inside €
  EXPECT_EQ(utf8_prefix("a\xf0\x9f\x98\x80z", 4), "a");                  // not inside 😀
  EXPECT_EQ(utf8_prefix("a\xf0\x9f\x98\x80z", 5), "a\xf0\x9f\x98\x80");  // right after it
}

TEST(Utf8Prefix, InvalidBytesAreCutLikeAnyOther) {
  EXPECT_EQ(utf8_prefix("\xff\xfe\xfd", 2), "\xff\xfe");
  EXPECT_EQ(utf8_prefix("\x80\x80\x80", 2), "");  // only continuation bytes: no boundary before the limit
  const std::string huge(1 << 20, '\x80');
  EXPECT_EQ(utf8_prefix(huge, 64), "");
}

}  // namespace
}  // namespace compensatord
