#pragma once
// The client side of the /v1 API, for `compensatord admin`: one request per call, the answer as
// JSON. It speaks through adapters::HttpTransport, so no HTTP library's header is needed here.

#include "adapters/http_transport.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::admin {

struct ApiAnswer {
  int status = 0;                 // 0: no HTTP answer (see transport_error)
  nlohmann::json body{};          // the JSON answer; null when the body was not JSON
  std::string raw_body{};         // as received, for an answer that is not JSON
  std::string transport_error{};  // connection refused, timeout, ...
};

class AdminClient {
 public:
  // `base_url` like "http://compensatord:8080"; `token` is sent as a bearer token.
  AdminClient(std::string base_url, std::string token, adapters::HttpTransport& transport,
              std::chrono::milliseconds timeout);

  // GET /v1/transactions?<query>; `query` pairs are percent-encoded here.
  ApiAnswer list(const std::vector<std::pair<std::string, std::string>>& query);
  ApiAnswer show(std::string_view xid, const std::vector<std::pair<std::string, std::string>>& query);
  // POST /v1/transactions/{xid}/{action} with a JSON object of string fields.
  ApiAnswer act(std::string_view xid, std::string_view action, const nlohmann::json& body);
  // POST /v1/transactions:retry?<query>: the bulk retry of the list's filter.
  ApiAnswer retry_matching(const std::vector<std::pair<std::string, std::string>>& query, const nlohmann::json& body);

 private:
  ApiAnswer send(std::string method, const std::string& path_and_query, std::string body);

  std::string base_url_;
  std::string token_;
  adapters::HttpTransport& transport_;
  std::chrono::milliseconds timeout_;
};

// RFC 3986: every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~) as "%XX".
std::string percent_encoded(std::string_view text);

}  // namespace compensatord::admin
