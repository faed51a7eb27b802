#include "adapters/participant.hpp"

#include "adapters/participant_spec.hpp"
#include "model/redact.hpp"

#include <fmt/format.h>

#include "adapters/fair_limiter.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <mutex>

namespace compensatord::adapters {
namespace {

// How much of a participant's answer goes into an error (and so into the audit trail).
constexpr std::size_t kBodyExcerpt = 200;

using Headers = std::vector<std::pair<std::string, std::string>>;
// Renders one part of the request, naming the part in a render error.
template <typename Render>
auto render_part(std::string_view part, Render&& render) {
  try {
    return render();
  } catch (const RenderError& e) {
    throw RenderError(fmt::format("{}: {}", part, e.what()));
  }
}

bool same_header(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

// Later headers replace earlier ones of the same name: action headers override participant headers.
void set_header(Headers& headers, std::string name, std::string value) {
  std::erase_if(headers, [&name](const auto& h) { return same_header(h.first, name); });
  headers.emplace_back(std::move(name), std::move(value));
}

bool has_header(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [name](const auto& h) { return same_header(h.first, name); });
}

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s) {
  auto c = static_cast<unsigned char>(s[0]);
  std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (length == 0 || length > s.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) return 0;
  }
  return length;
}

// A short, printable, valid UTF-8 piece of a participant's answer: it ends up in the audit trail
// (PostgreSQL text rejects invalid UTF-8) and in logs.
std::string excerpt(std::string_view body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size() && out.size() < kBodyExcerpt) {
    std::size_t length = utf8_sequence_length(body.substr(pos));
    auto c = static_cast<unsigned char>(body[pos]);
    if (length == 0 || (length == 1 && (c < 0x20 || c == 0x7f))) {
      out += length == 0 ? '?' : ' ';
      ++pos;
      continue;
    }
    out.append(body.substr(pos, length));
    pos += length;
  }
  if (pos < body.size()) out += "...";
  return out;
}

std::string idempotency_key(const Transaction& txn, const Branch& branch, Decision decision) {
  return fmt::format("{}:{}:{}", percent_encode(txn.xid), branch.no, action_name(decision));
}

std::string render_pairs(const std::vector<std::pair<std::string, Template>>& pairs, const RenderContext& ctx) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += percent_encode(name);
    out += '=';
    out += value.render(ctx, Escape::QueryValue);
  }
  return out;
}

std::string render_json_body(const JsonTemplate& body, const RenderContext& ctx) {
  try {
    return body.render(ctx).dump();
  } catch (const nlohmann::json::type_error& e) {
    // Replacing invalid UTF-8 would send a different order number: refuse instead.
    throw RenderError(fmt::format("the JSON body would not be valid UTF-8: {}", e.what()));
  }
}

struct RenderedRequest {
  HttpRequest request;
  std::string summary;
};

RenderedRequest render_request(const ParticipantSpec& spec, const ActionSpec& action, Decision decision,
                               const Transaction& txn, const Branch& branch) {
  RenderContext ctx{txn, &branch};
  RenderedRequest out;
  std::string path = render_part("path", [&] { return action.path.render(ctx, Escape::PathSegment); });
  // The base URL may carry user:password@: the summary goes to the attempts table and the API.
  out.summary = fmt::format("{} {}{}", action.method, redact_secrets(spec.base_url), path);
  HttpRequest& request = out.request;
  request.method = action.method;
  request.url = spec.base_url + path;
  if (!action.query.empty()) request.url += "?" + render_part("query", [&] { return render_pairs(action.query, ctx); });
  request.timeout = spec.timeout;
  request.headers = spec.headers;
  for (const auto& [name, value] : action.headers) {
    const Template& header = value;  // a lambda may not capture a structured binding before clang 16
    set_header(request.headers, name,
               render_part(fmt::format("header {}", name), [&] { return header.render(ctx, Escape::HeaderValue); }));
  }
  set_header(request.headers, spec.idempotency_header, idempotency_key(txn, branch, decision));
  if (action.body) {
    request.body = render_part("body", [&] { return render_json_body(*action.body, ctx); });
    if (!has_header(request.headers, "Content-Type")) request.headers.emplace_back("Content-Type", "application/json");
  } else if (!action.form.empty()) {
    request.body = render_part("form", [&] { return render_pairs(action.form, ctx); });
    if (!has_header(request.headers, "Content-Type")) {
      request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
  }
  return out;
}

void classify(const ActionSpec& action, const HttpResponse& response, ActionResult& result) {
  if (!response.error.empty() || response.status == 0) {
    result.outcome = Outcome::Retry;
    result.error = response.error.empty() ? "no HTTP answer" : response.error;
    return;
  }
  result.http_status = response.status;
  auto then = action.outcomes.match(response.status, response.body);
  if (!then) {
    result.outcome = Outcome::Retry;
    result.error = fmt::format("unmatched answer: HTTP {}: {}", response.status, excerpt(response.body));
    return;
  }
  result.outcome = parse_outcome(*then).value_or(Outcome::Retry);
  if (!acknowledged(result.outcome)) {
    result.error = fmt::format("outcome rule '{}' matched HTTP {}: {}", *then, response.status, excerpt(response.body));
  }
}

}  // namespace

Participant::Participant(std::string name, std::shared_ptr<const ParticipantSpec> spec,
                         std::shared_ptr<HttpTransport> transport)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      transport_(std::move(transport)),
      limiter_(std::make_shared<FairLimiter>(spec_->max_in_flight)) {}

Participant::Participant(std::shared_ptr<const ParticipantSpec> spec, const Participant& previous)
    : name_(previous.name_), spec_(std::move(spec)), transport_(previous.transport_), limiter_(previous.limiter_) {
  limiter_->resize(spec_->max_in_flight);
}

Participant::~Participant() = default;

bool Participant::has_action(Decision action) const { return spec_->action(action) != nullptr; }

std::chrono::milliseconds Participant::timeout() const { return spec_->timeout; }

void Participant::start(Decision decision, const Transaction& txn, const Branch& branch, ActionDone done) {
  ActionResult result;
  const ActionSpec* action = spec_->action(decision);
  if (action == nullptr) {
    result.outcome = Outcome::Done;
    result.skipped = true;
    done(std::move(result));
    return;
  }
  RenderedRequest rendered;
  try {
    rendered = render_request(*spec_, *action, decision, txn, branch);
  } catch (const RenderError& e) {
    result.outcome = Outcome::Fatal;
    result.error =
        fmt::format("cannot render the {} request for participant {}: {}", action_name(decision), name_, e.what());
    done(std::move(result));
    return;
  }
  result.request_summary = std::move(rendered.summary);
  if (!limiter_->acquire_until(std::chrono::steady_clock::now() + spec_->timeout)) {
    result.outcome = Outcome::Retry;
    result.error = fmt::format("no max_in_flight ({}) slot free for participant {} within {}ms", spec_->max_in_flight,
                               name_, spec_->timeout.count());
    done(std::move(result));
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  // Kept for the case where send() throws before taking the request: then nothing was sent.
  ActionResult unsent = result;
  try {
    // The handler runs on a transport thread: it frees the slot and classifies, nothing that blocks.
    transport_->send(std::move(rendered.request), [limiter = limiter_, spec = spec_, action, started,
                                                   result = std::move(result), done](HttpResponse response) mutable {
      limiter->release();
      result.latency =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      classify(*action, response, result);
      // A transport error may quote the URL, credentials included.
      result.error = redact_secrets(result.error, spec->base_url);
      done(std::move(result));
    });
  } catch (const std::exception& e) {
    limiter_->release();
    unsent.outcome = Outcome::Retry;
    unsent.error = fmt::format("transport failed: {}", redact_secrets(e.what(), spec_->base_url));
    done(std::move(unsent));
  }
}

ActionResult Participant::run(Decision decision, const Transaction& txn, const Branch& branch) {
  std::mutex mutex;
  std::condition_variable answered;
  std::optional<ActionResult> result;
  start(decision, txn, branch, [&](ActionResult r) {
    std::lock_guard lock(mutex);
    result = std::move(r);
    answered.notify_one();
  });
  std::unique_lock lock(mutex);
  answered.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
}

}  // namespace compensatord::adapters
