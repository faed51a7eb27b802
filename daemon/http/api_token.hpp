#pragma once
// The /v1 API's bearer tokens, as configured under http.tokens.

#include <string>

namespace compensatord::http {

// What a token may do: read transactions, or also act on them.
enum class ApiScope { Read, Admin };

struct ApiToken {
  std::string name;  // who acts, as the audit trail records it
  ApiScope scope = ApiScope::Read;
  std::string secret;  // the bearer token itself, from `token` or `token_file`

  bool operator==(const ApiToken&) const = default;
};

}  // namespace compensatord::http
