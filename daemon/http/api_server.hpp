#pragma once
// The /v1 API on http.listen (the probes are on the metrics port). cpprestsdk stays in
// the .cpp (slow headers, maintenance mode).

#include "http/api_tls.hpp"
#include "http/api_token.hpp"
#include "store/admin_store.hpp"
#include "store/store.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace compensatord::http {

// The API answers with this many threads, each using at most one database connection at a time.
inline constexpr int kApiDatabaseConnections = 2;

class ApiServer {
 public:
  // Starts listening on `listen` ("host:port"), with TLS when `tls` is set; throws
  // std::runtime_error naming the address or file when it cannot. Every /v1 request needs one of
  // `tokens` (none configured: every one is refused).
  ApiServer(const std::string& listen, std::vector<ApiToken> tokens, std::optional<ApiTls> tls, store::ReadStore& store,
            store::AdminStore& admin);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Why changed TLS files were last refused (the previous certificate is still served); nothing
  // when they were read, or without TLS.
  std::optional<std::string> tls_failure() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compensatord::http
