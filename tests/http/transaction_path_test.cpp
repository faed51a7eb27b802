#include "http/transaction_path.hpp"

#include "model/transaction.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::http {
namespace {

std::string xid(std::string_view segment) {
  auto named = xid_from_segment(segment);
  if (auto* problem = std::get_if<PathProblem>(&named)) return "problem: " + problem->message;
  return std::get<std::string>(named);
}

TEST(TransactionPath, PercentEncodedXidsAreDecoded) {
  EXPECT_EQ(xid("ORD-1"), "ORD-1");
  EXPECT_EQ(xid("ORD%2F1%20a"), "ORD/1 a");
  EXPECT_EQ(xid("a+b"), "a+b");
  EXPECT_EQ(xid("%C3%a9"), "\xC3\xA9");
  EXPECT_EQ(xid("%25"), "%");
}

TEST(TransactionPath, MalformedEncodingIsAProblem) {
  for (std::string_view bad : {"%", "%4", "ORD%", "%G0", "%0g", "%%41", "a%2"}) {
    EXPECT_EQ(xid(bad), "problem: malformed percent-encoding in xid") << bad;
  }
}

TEST(TransactionPath, XidsNoStoredRowCanHoldAreProblems) {
  EXPECT_EQ(xid(""), "problem: xid must be 1..256 bytes");
  EXPECT_EQ(xid(std::string(kMaxXidBytes, 'x')), std::string(kMaxXidBytes, 'x'));
  EXPECT_EQ(xid(std::string(kMaxXidBytes + 1, 'x')), "problem: xid must be 1..256 bytes");
  EXPECT_EQ(xid(std::string(10 * 1024 * 1024, '%')), "problem: xid must be 1..256 bytes");
  EXPECT_EQ(xid("ORD%00x"), "problem: xid must be UTF-8 text without NUL");
  EXPECT_EQ(xid("%FF%FE"), "problem: xid must be UTF-8 text without NUL");
  EXPECT_EQ(xid("%C0%AF"), "problem: xid must be UTF-8 text without NUL");  // an overlong "/"
}

TEST(TransactionPath, AnXidOfTheLongestLengthMayBeFullyEncoded) {
  std::string encoded;
  for (std::size_t i = 0; i < kMaxXidBytes; ++i) encoded += "%41";
  EXPECT_EQ(xid(encoded), std::string(kMaxXidBytes, 'A'));
}

}  // namespace
}  // namespace compensatord::http
