#pragma once
// The daemon's own HTTP endpoints: /healthz, /readyz and the /v1 API. cpprestsdk stays in
// the .cpp (slow headers, maintenance mode).

#include "http/api_token.hpp"
#include "store/admin_store.hpp"
#include "store/store.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace compensatord::http {

// One named check of /healthz or /readyz: returns why it fails, or nothing when it passes.
struct HealthCheck {
  std::string name;
  std::function<std::optional<std::string>()> failure;
  // Its reason is shown (?verbose) but does not fail the probe: for a problem that needs an
  // operator but not a restart or less traffic, like a refused config reload while the previous
  // config keeps working. Failing readiness there would take every replica out of service for a
  // typo in a file.
  bool informational = false;
};

struct HealthChecks {
  std::vector<HealthCheck> liveness;   // /healthz
  std::vector<HealthCheck> readiness;  // /readyz
};

// The API answers with this many threads, each using at most one database connection at a time.
inline constexpr int kApiDatabaseConnections = 2;

class ApiServer {
 public:
  // Starts listening on `listen` ("host:port"); throws std::runtime_error naming the address
  // when it cannot. /healthz and /readyz answer 200 when every check passes, else 503; with
  // ?verbose the body lists each check ("[+]name ok" or "[-]name failed: reason"; an informational
  // check's reason as "[!]name: reason", never a failure). Every /v1 request needs one of `tokens`
  // (none configured: every one is refused).
  ApiServer(const std::string& listen, std::vector<ApiToken> tokens, store::Store& store, store::AdminStore& admin,
            HealthChecks checks);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compensatord::http
