#pragma once
// The one seam between compensatord and an HTTP client library. cpprestsdk stays
// behind it (its headers are slow to compile and it is in maintenance mode).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace compensatord::adapters {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string url;     // absolute, already escaped
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
};

struct HttpResponse {
  int status = 0;     // 0 when no HTTP answer arrived (see `error`)
  std::string body;   // capped at kMaxResponseBody bytes
  std::string error;  // transport error: timeout, connection refused, TLS failure, ...
};

// Bodies beyond this are cut: a participant answering with megabytes must not exhaust memory.
inline constexpr std::size_t kMaxResponseBody = 1 << 20;

struct TransportOptions {
  bool verify_tls = true;
};

using ResponseHandler = std::function<void(HttpResponse)>;

// Thread-safe: many reconciler workers call send() at once.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Starts `request` and returns; `done` is called exactly once with the answer or an error.
  virtual void send(HttpRequest request, ResponseHandler done) = 0;
};

// For callers on their own threads (the HTTP check): sends and waits for the answer.
HttpResponse send_and_wait(HttpTransport& transport, HttpRequest request);

std::unique_ptr<HttpTransport> make_cpprest_transport(const TransportOptions& options = {});

}  // namespace compensatord::adapters
