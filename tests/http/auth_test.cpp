// Bearer tokens of the /v1 API: 401 without a known token, 403 without the scope.
#include "http/auth.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::http {
namespace {

const Authenticator kTwoTokens({{"dashboards", ApiScope::Read, "read-token-0123456789"},
                                {"ops", ApiScope::Admin, "admin-token-0123456789"}});

Refusal refusal(const std::variant<Caller, Refusal>& result) {
  if (const auto* r = std::get_if<Refusal>(&result)) return *r;
  ADD_FAILURE() << "expected a refusal, got caller " << std::get<Caller>(result).name;
  return {};
}

TEST(Authenticator, AKnownTokenNamesItsCaller) {
  const auto read = kTwoTokens.authorize("Bearer read-token-0123456789", ApiScope::Read);
  ASSERT_TRUE(std::holds_alternative<Caller>(read));
  EXPECT_EQ(std::get<Caller>(read).name, "dashboards");
  const auto admin = kTwoTokens.authorize("bearer admin-token-0123456789", ApiScope::Admin);
  ASSERT_TRUE(std::holds_alternative<Caller>(admin)) << "the scheme is case-insensitive";
  EXPECT_EQ(std::get<Caller>(admin).name, "ops");
  EXPECT_TRUE(std::holds_alternative<Caller>(kTwoTokens.authorize("Bearer admin-token-0123456789", ApiScope::Read)))
      << "admin may also read";
}

TEST(Authenticator, AReadTokenCannotActAndGets403) {
  const auto r = refusal(kTwoTokens.authorize("Bearer read-token-0123456789", ApiScope::Admin));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code, "forbidden");
}

TEST(Authenticator, NoUnknownOrMalformedCredentialsGet401) {
  const std::string near_miss = "Bearer admin-token-012345678";  // one character short
  for (const std::string& header :
       {std::string(), std::string("Bearer "), std::string("Basic b3BzOnNlY3JldA=="),
        std::string("admin-token-0123456789"), near_miss, near_miss + "9X",
        std::string("Bearer admin-token-0123456789 "), std::string("Bearer ") + std::string(1 << 20, 'a'),
        std::string("Bearer read-token-0123456789\r\nX: y"), std::string("Bearer \0admin-token-0123456789", 30)}) {
    const auto r = refusal(kTwoTokens.authorize(header, ApiScope::Read));
    EXPECT_EQ(r.status, 401) << header.substr(0, 40);
    EXPECT_EQ(r.code, "unauthenticated");
  }
}

TEST(Authenticator, WithoutConfiguredTokensEveryRequestIsRefusedSayingSo) {
  const Authenticator none({});
  const auto r = refusal(none.authorize("Bearer anything-at-all-0123", ApiScope::Read));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.message.find("http.tokens"), std::string::npos);
}

}  // namespace
}  // namespace compensatord::http
