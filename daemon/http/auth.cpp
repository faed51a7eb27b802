#include "http/auth.hpp"

#include <algorithm>
#include <cstddef>

namespace compensatord::http {
namespace {

// Equal in time that depends only on the candidate's length: every byte of both is read.
bool same_secret(std::string_view candidate, std::string_view secret) {
  unsigned char difference = candidate.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    const unsigned char expected = secret.empty() ? 0 : static_cast<unsigned char>(secret[i % secret.size()]);
    difference |= static_cast<unsigned char>(candidate[i]) ^ expected;
  }
  return difference == 0;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  const bool bearer = std::equal(kScheme.begin(), kScheme.end(), authorization.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return bearer ? authorization.substr(kScheme.size()) : std::string_view{};
}

}  // namespace

Authenticator::Authenticator(std::vector<ApiToken> tokens) : tokens_(std::move(tokens)) {}

std::variant<Caller, Refusal> Authenticator::authorize(std::string_view authorization, ApiScope needed) const {
  if (tokens_.empty()) {
    return Refusal{401, "unauthenticated", "the /v1 API takes bearer tokens and none is configured (http.tokens)"};
  }
  const std::string_view presented = bearer_token(authorization);
  if (presented.empty()) return Refusal{401, "unauthenticated", "send Authorization: Bearer <token>"};
  const ApiToken* match = nullptr;
  for (const auto& token : tokens_) {
    if (same_secret(presented, token.secret) && match == nullptr) match = &token;
  }
  if (match == nullptr) return Refusal{401, "unauthenticated", "unknown token"};
  if (needed == ApiScope::Admin && match->scope != ApiScope::Admin) {
    return Refusal{403, "forbidden", "this token may only read (scope read); the request needs scope admin"};
  }
  return Caller{match->name, match->scope};
}

}  // namespace compensatord::http
