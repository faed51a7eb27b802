#pragma once
// The /v1 API on http.listen (the probes are on the metrics port). cpprestsdk stays in
// the .cpp (slow headers, maintenance mode).

#include "http/api_token.hpp"
#include "store/admin_store.hpp"
#include "store/store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace compensatord::http {

// The API answers with this many threads, each using at most one database connection at a time.
inline constexpr int kApiDatabaseConnections = 2;

class ApiServer {
 public:
  // Starts listening on `listen` ("host:port"); throws std::runtime_error naming the address
  // when it cannot. Every /v1 request needs one of `tokens` (none configured: every one is
  // refused).
  ApiServer(const std::string& listen, std::vector<ApiToken> tokens, store::Store& store, store::AdminStore& admin);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compensatord::http
