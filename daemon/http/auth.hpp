#pragma once
// Who may use the /v1 API: bearer tokens with a scope (read, or admin which also acts). Pure
// logic, no HTTP library: the server hands over the Authorization header.

#include "http/api_token.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace compensatord::http {

// An authenticated caller: the token's name is who the audit trail records.
struct Caller {
  std::string name;
  ApiScope scope = ApiScope::Read;
};

// A refused request: 401 (no or unknown token) or 403 (the token lacks the scope).
struct Refusal {
  int status = 401;
  std::string code;  // stable, for scripts: unauthenticated, forbidden
  std::string message;
};

class Authenticator {
 public:
  explicit Authenticator(std::vector<ApiToken> tokens);

  // Checks "Bearer <token>" against every configured token in time that does not depend on
  // where a guess first differs.
  [[nodiscard]] std::variant<Caller, Refusal> authorize(std::string_view authorization, ApiScope needed) const;

 private:
  std::vector<ApiToken> tokens_;
};

}  // namespace compensatord::http
