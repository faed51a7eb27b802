#pragma once
// The one seam between compensatord and an HTTP client library. The libraries (libcurl, cpprestsdk)
// stay behind it, in their own .cpp files: their headers are slow to compile and cpprestsdk is in
// maintenance mode.

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
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // the whole exchange, body included
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
  // PEM file of the certificate authorities that servers are verified with, instead of the
  // system's (curl transport); empty: the system's.
  std::string ca_file{};
  // Connections kept open to one host:port at most (curl transport; 0: no limit). Requests beyond it
  // wait inside the transport for a free connection, their timeout running.
  int max_host_connections = 0;
  // Idle connections kept open for later requests, over all hosts (curl transport). Calls come in
  // waves; a cache smaller than a wave closes connections between waves only to open them again.
  int kept_connections = 256;
};

using ResponseHandler = std::function<void(HttpResponse)>;

// Asynchronous and thread-safe: any thread may call send() at any time, with any number of requests
// in flight; no thread is held per request.
class HttpTransport {
 public:
  // Waits until every started request's `done` has been called: outstanding ones are failed with an
  // error, so no handler outlives the transport. Never destroy a transport from inside a `done`.
  virtual ~HttpTransport() = default;

  // Starts `request` and returns at once. `done` is called exactly once, on a transport thread (or
  // inline, on the caller's thread, when the request cannot even start: bad URL or header, transport
  // shutting down), with the answer or an error, no later than about request.timeout after send().
  // `done` must neither block nor throw: it runs on the thread that moves every other request.
  virtual void send(HttpRequest request, ResponseHandler done) = 0;
};

// For callers on their own threads (the HTTP check, tools): sends and waits for the answer. Never
// call it on a transport thread or a cpprestsdk pool thread.
HttpResponse send_and_wait(HttpTransport& transport, HttpRequest request);

// cpprestsdk's client: continuations on its shared thread pool, one timer thread for the deadlines.
std::unique_ptr<HttpTransport> make_cpprest_transport(const TransportOptions& options = {});
// libcurl's multi interface: one event thread, keep-alive connections reused across requests.
std::unique_ptr<HttpTransport> make_curl_transport(const TransportOptions& options = {});

}  // namespace compensatord::adapters
