// The only place that includes cpprestsdk (slow to compile, in maintenance mode): see http_transport.hpp.
#include "adapters/http_transport.hpp"

// cpprest's U() macro would break fmt's templates.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>
#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <map>
#include <mutex>

namespace compensatord::adapters {
namespace {

using Deadline = std::chrono::steady_clock::time_point;
using web::http::client::http_client;

// Bytes asked of the response stream per read.
constexpr std::size_t kReadChunk = 64 * 1024;

// Waits for `task` until `deadline`; true when it finished (with a value or an exception).
template <typename T>
bool finished_before(const pplx::task<T>& task, Deadline deadline) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  task.then([done](const pplx::task<T>&) { done->set_value(); });
  return finished.wait_until(deadline) == std::future_status::ready;
}

bool has_line_break_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

class CpprestTransport final : public HttpTransport {
 public:
  explicit CpprestTransport(TransportOptions options) : options_(options) {}

  void send(HttpRequest request, ResponseHandler done) override { done(exchange_sync(request)); }

 private:
  HttpResponse exchange_sync(const HttpRequest& request) {
    const Deadline deadline = std::chrono::steady_clock::now() + request.timeout;
    HttpResponse response;
    pplx::cancellation_token_source cancel;
    try {
      response = exchange(request, deadline, cancel);
    } catch (const std::exception& e) {
      response = HttpResponse{};
      // cpprest's own timer may fire first, with a vaguer "Operation canceled".
      response.error = std::chrono::steady_clock::now() >= deadline ? timed_out(request.timeout) : e.what();
    }
    // Stops a call still running after the deadline or the body cap, and frees its connection.
    cancel.cancel();
    return response;
  }

  static std::string timed_out(std::chrono::milliseconds timeout) {
    return fmt::format("timed out after {}ms", timeout.count());
  }

  HttpResponse exchange(const HttpRequest& request, Deadline deadline, pplx::cancellation_token_source& cancel) {
    web::uri uri(request.url);
    web::http::http_request message = to_message(request, uri);
    pplx::task<web::http::http_response> call = client_for(uri, request.timeout)->request(message, cancel.get_token());
    await(call, deadline, cancel, request.timeout);
    web::http::http_response answer = call.get();
    HttpResponse response;
    response.status = answer.status_code();
    response.body = read_capped(answer.body(), deadline, cancel, request.timeout);
    return response;
  }

  // Throws when `task` is not finished by `deadline`, after cancelling it.
  template <typename T>
  static void await(const pplx::task<T>& task, Deadline deadline, pplx::cancellation_token_source& cancel,
                    std::chrono::milliseconds timeout) {
    if (finished_before(task, deadline)) return;
    cancel.cancel();
    // The task still refers to the request's buffers: let it unwind before they go away.
    task.wait();
    throw std::runtime_error(timed_out(timeout));
  }

  static std::string read_capped(const concurrency::streams::istream& body, Deadline deadline,
                                 pplx::cancellation_token_source& cancel, std::chrono::milliseconds timeout) {
    concurrency::streams::streambuf<uint8_t> source = body.streambuf();
    std::string out;
    while (out.size() < kMaxResponseBody) {
      std::size_t have = out.size();
      std::size_t want = std::min(kReadChunk, kMaxResponseBody - have);
      out.resize(have + want);
      pplx::task<std::size_t> read = source.getn(reinterpret_cast<uint8_t*>(out.data() + have), want);
      await(read, deadline, cancel, timeout);
      std::size_t got = read.get();
      out.resize(have + got);
      if (got == 0) break;
    }
    return out;
  }

  static web::http::http_request to_message(const HttpRequest& request, const web::uri& uri) {
    web::http::http_request message(request.method);
    message.set_request_uri(uri.resource());
    std::string content_type = "application/octet-stream";
    for (const auto& [name, value] : request.headers) {
      // Defence in depth: templates already refuse these, but a CR/LF here would split the request.
      if (has_line_break_or_control(name) || has_line_break_or_control(value)) {
        throw std::invalid_argument(fmt::format("header {} contains a control character; not sent",
                                                has_line_break_or_control(name) ? "name" : name));
      }
      if (utility::details::str_iequal(name, web::http::header_names::content_type)) {
        content_type = value;
      } else {
        message.headers().add(name, value);
      }
    }
    if (!request.body.empty()) message.set_body(request.body, content_type);
    return message;
  }

  std::shared_ptr<http_client> client_for(const web::uri& uri, std::chrono::milliseconds timeout) {
    if (uri.scheme() != "http" && uri.scheme() != "https") {
      throw std::invalid_argument(fmt::format("unsupported URL scheme '{}'", uri.scheme()));
    }
    int port = uri.port() > 0 ? uri.port() : (uri.scheme() == "https" ? 443 : 80);
    bool ipv6 = uri.host().find(':') != std::string::npos;
    std::string host = ipv6 ? fmt::format("[{}]", uri.host()) : uri.host();
    std::string origin = fmt::format("{}://{}:{}", uri.scheme(), host, port);
    std::string key = fmt::format("{} {}", origin, timeout.count());
    std::lock_guard lock(mutex_);
    auto& client = clients_[key];
    if (!client) {
      web::http::client::http_client_config config;
      config.set_timeout(timeout);
      config.set_validate_certificates(options_.verify_tls);
      client = std::make_shared<http_client>(web::uri(origin), config);
    }
    return client;
  }

  TransportOptions options_;
  std::mutex mutex_;
  // One client (and its connection pool) per origin and timeout; participants rarely share an origin.
  std::map<std::string, std::shared_ptr<http_client>> clients_;
};

}  // namespace

HttpResponse send_and_wait(HttpTransport& transport, HttpRequest request) {
  std::promise<HttpResponse> answer;
  auto answered = answer.get_future();
  transport.send(std::move(request), [&answer](HttpResponse response) { answer.set_value(std::move(response)); });
  return answered.get();
}

std::unique_ptr<HttpTransport> make_cpprest_transport(const TransportOptions& options) {
  return std::make_unique<CpprestTransport>(options);
}

}  // namespace compensatord::adapters
