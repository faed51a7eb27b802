#include "admin/admin_client.hpp"

#include <fmt/format.h>

namespace compensatord::admin {
namespace {

std::string query_string(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (const auto& [name, value] : query) {
    out += out.empty() ? "?" : "&";
    out += percent_encoded(name) + "=" + percent_encoded(value);
  }
  return out;
}

}  // namespace

std::string percent_encoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

AdminClient::AdminClient(std::string base_url, std::string token, adapters::HttpTransport& transport,
                         std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), token_(std::move(token)), transport_(transport), timeout_(timeout) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

ApiAnswer AdminClient::list(const std::vector<std::pair<std::string, std::string>>& query) {
  return send("GET", "/v1/transactions" + query_string(query), "");
}

ApiAnswer AdminClient::show(std::string_view xid, const std::vector<std::pair<std::string, std::string>>& query) {
  return send("GET", "/v1/transactions/" + percent_encoded(xid) + query_string(query), "");
}

ApiAnswer AdminClient::act(std::string_view xid, std::string_view action, const nlohmann::json& body) {
  return send("POST", fmt::format("/v1/transactions/{}/{}", percent_encoded(xid), action), body.dump());
}

ApiAnswer AdminClient::retry_matching(const std::vector<std::pair<std::string, std::string>>& query,
                                      const nlohmann::json& body) {
  return send("POST", "/v1/transactions:retry" + query_string(query), body.dump());
}

ApiAnswer AdminClient::send(std::string method, const std::string& path_and_query, std::string body) {
  adapters::HttpRequest request{.method = std::move(method),
                                .url = base_url_ + path_and_query,
                                .headers = {{"Authorization", "Bearer " + token_}, {"Accept", "application/json"}},
                                .body = std::move(body),
                                .timeout = timeout_};
  if (!request.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  auto response = adapters::send_and_wait(transport_, std::move(request));
  ApiAnswer answer{.status = response.status, .transport_error = std::move(response.error)};
  answer.body = nlohmann::json::parse(response.body, nullptr, false);
  if (answer.body.is_discarded()) answer.body = nullptr;
  answer.raw_body = std::move(response.body);
  return answer;
}

}  // namespace compensatord::admin
