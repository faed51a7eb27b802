#include "check/http_check.hpp"

#include "model/redact.hpp"

#include <fmt/format.h>

namespace compensatord::check {

HttpCheck::HttpCheck(HttpCheckSpec spec, std::shared_ptr<adapters::HttpTransport> transport)
    : spec_(std::move(spec)), transport_(std::move(transport)) {}

adapters::HttpRequest HttpCheck::render(const Transaction& txn) const {
  const adapters::RenderContext ctx{txn, nullptr};
  adapters::HttpRequest request;
  request.method = spec_.method;
  request.url = spec_.base_url + spec_.path.render(ctx, adapters::Escape::PathSegment);
  char separator = '?';
  for (const auto& [key, value] : spec_.query) {
    request.url += fmt::format("{}{}={}", separator, adapters::percent_encode(key),
                               value.render(ctx, adapters::Escape::QueryValue));
    separator = '&';
  }
  request.headers = spec_.headers;
  request.timeout = spec_.timeout;
  return request;
}

CheckResult HttpCheck::run(const Transaction& txn) {
  CheckResult result;
  const auto started = std::chrono::steady_clock::now();
  try {
    adapters::HttpRequest request;
    try {
      request = render(txn);
    } catch (const adapters::RenderError& e) {
      result.unaskable = true;
      result.request_summary = fmt::format("{} {} (not sent)", spec_.method, redact_secrets(spec_.base_url));
      result.error = fmt::format("the check's request cannot be made for this transaction: {}", e.what());
      return result;
    }
    result.request_summary =
        fmt::format("{} {}", request.method, redact_secrets(request.url.substr(0, request.url.find('?'))));
    adapters::HttpResponse response = adapters::send_and_wait(*transport_, std::move(request));
    if (response.status != 0) result.http_status = response.status;
    if (!response.error.empty()) {
      result.error = redact_secrets(response.error, spec_.base_url);
    } else if (auto verdict = spec_.outcomes.match(response.status, response.body)) {
      result.verdict = parse_check_verdict(*verdict).value_or(CheckVerdict::Unknown);
      if (result.verdict == CheckVerdict::Unknown)
        result.error = fmt::format("HTTP {} mapped to unknown", response.status);
    } else {
      result.error = fmt::format("unmatched answer: HTTP {}", response.status);
    }
  } catch (const std::exception& e) {
    result.error = fmt::format("HTTP check failed: {}", redact_secrets(e.what(), spec_.base_url));
  }
  result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return result;
}

}  // namespace compensatord::check
