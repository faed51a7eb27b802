// What every transport shares: send_and_wait() and the checks both run before sending.
#include "adapters/http_transport.hpp"

#include "adapters/transport_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>

namespace compensatord::adapters {
namespace detail {
namespace {

bool has_line_break_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

}  // namespace

std::optional<std::string> header_problem(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (has_line_break_or_control(name) || has_line_break_or_control(value)) {
      return fmt::format("header {} contains a control character; not sent",
                         has_line_break_or_control(name) ? "name" : name);
    }
  }
  return std::nullopt;
}

std::string timed_out(std::chrono::milliseconds timeout) {
  return fmt::format("timed out after {}ms", timeout.count());
}

HttpResponse failed(std::string error) {
  HttpResponse response;
  response.error = std::move(error);
  return response;
}

}  // namespace detail

HttpResponse send_and_wait(HttpTransport& transport, HttpRequest request) {
  // Shared: the handler may still be inside set_value() when get() returns here.
  auto answer = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = answer->get_future();
  transport.send(std::move(request), [answer](HttpResponse response) { answer->set_value(std::move(response)); });
  return future.get();
}

}  // namespace compensatord::adapters
