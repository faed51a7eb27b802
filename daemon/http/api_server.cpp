#include "http/api_server.hpp"

#include "common/sleep.hpp"
#include "http/auth.hpp"
#include "http/query.hpp"
#include "http/request_workers.hpp"
#include "http/tls_certificate.hpp"
#include "http/transaction_json.hpp"
#include "http/transaction_path.hpp"
#include "log/log.hpp"
#include "model/text.hpp"

// fmt before cpprest: cpprest's U() macro breaks fmt's templates.
#include <fmt/format.h>

#include <cpprest/http_listener.h>

#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <variant>

namespace compensatord::http {
namespace {
constexpr log::Log kLog{"http"};

using web::http::http_request;
using web::http::status_code;
using web::http::status_codes;

// Requests are small and quick; two threads keep the API answering while one waits on the database.
constexpr int kWorkerThreads = kApiDatabaseConnections;
constexpr std::size_t kMaxQueuedRequests = 256;
// An admin request's body is a reason at most; anything larger is refused unread.
constexpr std::size_t kMaxBodyBytes = 16 * 1024;
constexpr std::size_t kMaxReasonBytes = 4096;

// Replies are sent without waiting for them to go out: nothing here holds a thread for the
// network. Their outcome is still observed, in a continuation that does not block (the task is
// done by then): pplx stops the process with SIGTRAP on an exception nobody observed.
void observe(const pplx::task<void>& sent) {
  sent.then([](const pplx::task<void>& done) {
    try {
      done.get();
    } catch (const std::exception& e) {
      kLog.debug("a reply could not be sent: {}", e.what());
    }
  });
}

// Stored text is valid UTF-8 (the store replaces what is not); `replace` keeps one odd byte from
// turning an answer into a 500 all the same.
void reply_json(const http_request& request, status_code status, const nlohmann::json& body) {
  observe(
      request.reply(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json"));
}

// Errors carry a stable `code` for scripts and a message for people.
void reply_error(const http_request& request, status_code status, std::string_view code, const std::string& message) {
  reply_json(request, status, {{"code", code}, {"error", message}});
}

std::string authorization_of(const http_request& request) {
  const auto& headers = request.headers();
  const auto found = headers.find(U("Authorization"));
  return found == headers.end() ? std::string() : utility::conversions::to_utf8string(found->second);
}

std::string too_large() { return fmt::format("the body must be at most {} bytes", kMaxBodyBytes); }

// The body of an admin request: a JSON object of string fields among `allowed` and boolean fields
// among `flags`, or an empty body (an empty object). Throws std::invalid_argument saying what is
// wrong.
nlohmann::json admin_body(const std::string& body, std::initializer_list<std::string_view> allowed,
                          std::initializer_list<std::string_view> flags = {}) {
  if (body.size() > kMaxBodyBytes) {
    throw std::invalid_argument(too_large());
  }
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) throw std::invalid_argument("the body must be a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (std::find(flags.begin(), flags.end(), key) != flags.end()) {
      if (!value.is_boolean()) throw std::invalid_argument(fmt::format("{} must be true or false", key));
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw std::invalid_argument(fmt::format("unknown field '{}'", utf8_prefix(key, 64)));
    }
    if (!value.is_string()) throw std::invalid_argument(fmt::format("{} must be a string", key));
  }
  if (json.value("reason", "").size() > kMaxReasonBytes) {
    throw std::invalid_argument(fmt::format("reason must be at most {} bytes", kMaxReasonBytes));
  }
  return json;
}

// `applied` names the success: "retried" or "abandoned".
std::string_view action_code(store::ActionOutcome outcome, std::string_view applied) {
  switch (outcome) {
    case store::ActionOutcome::Applied:
      return applied;
    case store::ActionOutcome::Unknown:
      return "not_found";
    case store::ActionOutcome::Finished:
      return "finished";
    case store::ActionOutcome::InFlight:
      return "in_flight";
  }
  return "unknown";
}

std::string_view decide_code(store::DecideByHandOutcome outcome) {
  switch (outcome) {
    case store::DecideByHandOutcome::Decided:
      return "decided";
    case store::DecideByHandOutcome::Unknown:
      return "not_found";
    case store::DecideByHandOutcome::AlreadyDecided:
      return "already_decided";
    case store::DecideByHandOutcome::InFlight:
      return "in_flight";
  }
  return "unknown";
}

}  // namespace

class ApiServer::Impl {
 public:
  Impl(const std::string& listen, std::vector<ApiToken> tokens, std::optional<ApiTls> tls, store::ReadStore& store,
       store::AdminStore& admin)
      : store_(store),
        admin_(admin),
        authenticator_(std::move(tokens)),
        certificate_(tls ? std::make_unique<TlsCertificate>(std::move(*tls)) : nullptr),
        listener_(utility::conversions::to_string_t(fmt::format("{}://{}/", certificate_ ? "https" : "http", listen)),
                  listener_config()) {
    listener_.support([this](const http_request& r) { hand_over(r); });
    try {
      listener_.open().wait();
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("cannot listen on http.listen {}: {}", listen, e.what()));
    }
    if (certificate_) {
      certificate_watch_ = std::jthread([this](const std::stop_token& stop) { watch_certificate(stop); });
    }
  }
  ~Impl() {
    {
      std::lock_guard lock(intake_->mutex);
      intake_->open = false;
    }
    try {
      listener_.close().wait();
    } catch (const std::exception& e) {
      kLog.warn("closing the listener failed: {}", e.what());
    }
  }

  std::optional<std::string> tls_failure() const { return certificate_ ? certificate_->last_failure() : std::nullopt; }

 private:
  web::http::experimental::listener::http_listener_config listener_config() {
    web::http::experimental::listener::http_listener_config config;
    if (certificate_) {
      config.set_ssl_context_callback(
          [this](boost::asio::ssl::context& context) { certificate_->serve_on(context.native_handle()); });
    }
    return config;
  }

  // Every reload_interval until stopped: a renewed certificate is served from the next handshake.
  void watch_certificate(const std::stop_token& stop) {
    for (;;) {
      sleep_for(stop, certificate_->files().reload_interval);
      if (stop.stop_requested()) return;
      certificate_->reload_if_changed();
    }
  }

  // On a cpprestsdk pool thread: read the body without waiting for it, then queue the request for
  // the API's own workers. No thread waits for a body, so a client that sends its headers and then
  // stalls holds a connection, never a worker.
  void hand_over(const http_request& request) {
    if (request.headers().content_length() > kMaxBodyBytes) {
      return reply_error(request, status_codes::BadRequest, "bad_request", too_large());
    }
    http_request reading = request;
    // Nothing may escape the continuation: pplx stops the process on an exception nobody observed.
    reading.extract_utf8string(true).then([this, intake = intake_, request](pplx::task<std::string> read) {
      try {
        std::string body = read.get();
        std::lock_guard lock(intake->mutex);
        if (!intake->open) return;
        if (!workers_.post([this, request, body = std::move(body)] { handle(request, body); })) {
          reply_error(request, status_codes::ServiceUnavailable, "busy", "too many requests in progress");
        }
      } catch (const std::exception& e) {
        kLog.debug("a request was dropped before it was handled (its body could not be read): {}", e.what());
      }
    });
  }

  void handle(const http_request& request, const std::string& body) {
    try {
      route(request, body);
    } catch (const std::exception& e) {
      kLog.error("{} failed: {}", request.relative_uri().path(), e.what());
      reply_error(request, status_codes::InternalError, "internal", "internal error");
    }
  }

  void route(const http_request& request, const std::string& body) {
    const std::string path = request.relative_uri().path();
    const bool get = request.method() == web::http::methods::GET;
    const bool post = request.method() == web::http::methods::POST;
    if (path == "/v1/transactions") {
      if (!get)
        return reply_error(request, status_codes::MethodNotAllowed, "method_not_allowed", "only GET is allowed here");
      return with_caller(request, ApiScope::Read, [&](const Caller&) { list(request); });
    }
    if (path == "/v1/transactions:retry") {
      if (!post)
        return reply_error(request, status_codes::MethodNotAllowed, "method_not_allowed", "only POST is allowed here");
      return with_caller(request, ApiScope::Admin,
                         [&](const Caller& caller) { retry_matching(request, body, caller); });
    }
    const std::string prefix = "/v1/transactions/";
    if (path.rfind(prefix, 0) != 0)
      return reply_error(request, status_codes::NotFound, "not_found", "no such endpoint");
    // The xid's own slashes are percent-encoded: a plain one starts the action.
    const std::string rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    const std::string xid = rest.substr(0, slash);
    if (slash == std::string::npos) {
      if (!get)
        return reply_error(request, status_codes::MethodNotAllowed, "method_not_allowed", "only GET is allowed here");
      return with_caller(request, ApiScope::Read, [&](const Caller&) { show(request, xid); });
    }
    const std::string action = rest.substr(slash + 1);
    using Action = void (Impl::*)(const http_request&, const std::string&, const std::string&, const Caller&);
    static const std::map<std::string, Action, std::less<>> kActions{
        {"retry", &Impl::retry}, {"decide", &Impl::decide}, {"abandon", &Impl::abandon}};
    const auto found = kActions.find(action);
    if (found == kActions.end()) return reply_error(request, status_codes::NotFound, "not_found", "no such endpoint");
    if (!post)
      return reply_error(request, status_codes::MethodNotAllowed, "method_not_allowed", "only POST is allowed here");
    with_caller(request, ApiScope::Admin,
                [&](const Caller& caller) { (this->*found->second)(request, xid, body, caller); });
  }

  template <typename Handler>
  void with_caller(const http_request& request, ApiScope needed, Handler&& handler) {
    auto authorized = authenticator_.authorize(authorization_of(request), needed);
    if (auto* refusal = std::get_if<Refusal>(&authorized)) {
      return reply_error(request, refusal->status, refusal->code, refusal->message);
    }
    handler(std::get<Caller>(authorized));
  }

  // The xid of the path, or nothing when a 400 has been answered.
  static std::optional<std::string> xid_of(const http_request& request, const std::string& encoded_xid) {
    auto named = xid_from_segment(encoded_xid);
    if (auto* problem = std::get_if<PathProblem>(&named)) {
      reply_error(request, status_codes::BadRequest, "bad_xid", problem->message);
      return std::nullopt;
    }
    return std::move(std::get<std::string>(named));
  }

  // The query of a request, or nothing when a 400 has been answered.
  template <typename Parse>
  static auto query_of(const http_request& request, Parse&& parse)
      -> std::optional<std::variant_alternative_t<0, decltype(parse(std::string_view()))>> {
    auto parsed = parse(request.relative_uri().query());
    if (auto* problem = std::get_if<PathProblem>(&parsed)) {
      reply_error(request, status_codes::BadRequest, "bad_request", problem->message);
      return std::nullopt;
    }
    return std::move(std::get<0>(parsed));
  }

  void list(const http_request& request) {
    const auto filter = query_of(request, list_filter_from_query);
    if (!filter) return;
    reply_json(request, status_codes::OK, to_json(admin_.list(*filter)));
  }

  // The transaction, a page of its audit trail and every admin action on it.
  void show(const http_request& request, const std::string& encoded_xid) {
    const auto xid = xid_of(request, encoded_xid);
    if (!xid) return;
    const auto paging = query_of(request, attempt_paging_from_query);
    if (!paging) return;
    auto txn = store_.find(*xid);
    if (!txn) return reply_error(request, status_codes::NotFound, "not_found", "unknown xid");
    auto json = to_json(*txn);
    const auto trail = to_json(admin_.attempt_page(*xid, paging->after_id, paging->limit));
    json["attempts"] = trail["attempts"];
    json["attempts_next_after"] = trail["next_after"];
    json["admin_actions"] = to_json(admin_.admin_actions(*xid));
    reply_json(request, status_codes::OK, json);
  }

  void retry(const http_request& request, const std::string& encoded_xid, const std::string& body_text,
             const Caller& caller) {
    const auto xid = xid_of(request, encoded_xid);
    if (!xid) return;
    nlohmann::json body;
    try {
      body = admin_body(body_text, {"reason"});
    } catch (const std::invalid_argument& e) {
      return reply_error(request, status_codes::BadRequest, "bad_request", e.what());
    }
    reply_action(request, *xid, caller, "retry", "retried",
                 admin_.retry({*xid, caller.name, body.value("reason", "")}));
  }

  void decide(const http_request& request, const std::string& encoded_xid, const std::string& body_text,
              const Caller& caller) {
    const auto xid = xid_of(request, encoded_xid);
    if (!xid) return;
    nlohmann::json body;
    std::optional<Decision> decision;
    try {
      body = admin_body(body_text, {"decision", "reason"});
      decision = parse_decision(body.value("decision", ""));
      if (!decision) throw std::invalid_argument("decision must be confirm or cancel");
      if (body.value("reason", "").empty()) throw std::invalid_argument("reason is required: say why, for the audit");
    } catch (const std::invalid_argument& e) {
      return reply_error(request, status_codes::BadRequest, "bad_request", e.what());
    }
    const auto result = admin_.decide_by_hand({*xid, caller.name, body.value("reason", "")}, *decision);
    const auto code = decide_code(result.outcome);
    kLog.info({{"xid", *xid}, {"caller", caller.name}}, "decide {}: {}", to_string(*decision), code);
    const nlohmann::json status = result.status ? nlohmann::json(to_string(*result.status)) : nlohmann::json();
    const nlohmann::json in_force = result.decision ? nlohmann::json(to_string(*result.decision)) : nlohmann::json();
    switch (result.outcome) {
      case store::DecideByHandOutcome::Decided:
        return reply_json(request, status_codes::OK,
                          {{"xid", *xid}, {"outcome", code}, {"status", status}, {"decision", in_force}});
      case store::DecideByHandOutcome::Unknown:
        return reply_error(request, status_codes::NotFound, code, "unknown xid");
      case store::DecideByHandOutcome::AlreadyDecided:
        return reply_json(request, status_codes::Conflict,
                          {{"code", code},
                           {"error", fmt::format("the transaction is already decided {}: a decision is final",
                                                 to_string(*result.decision))},
                           {"status", status},
                           {"decision", in_force}});
      case store::DecideByHandOutcome::InFlight:
        return reply_error(request, status_codes::Conflict, code,
                           "a replica is working on the transaction now (its lease holds); try again later");
    }
  }

  // The bulk retry: one page of the list's filter (?status=...&limit=...&after=...), shown as it
  // is (dry run, the default) or each retried as by POST .../retry, each with its own audit row.
  // The status filter is required, and unfinished: a bulk action names what it acts on.
  void retry_matching(const http_request& request, const std::string& body_text, const Caller& caller) {
    const auto filter = query_of(request, list_filter_from_query);
    if (!filter) return;
    if (!filter->status || is_terminal(*filter->status)) {
      return reply_error(request, status_codes::BadRequest, "bad_request",
                         "status is required and must be unfinished (PARKED, ABANDONED, PENDING, ...): a bulk retry "
                         "names what it retries");
    }
    nlohmann::json body;
    try {
      body = admin_body(body_text, {"reason"}, {"dry_run"});
      if (!body.value("dry_run", true) && body.value("reason", "").empty())
        throw std::invalid_argument("reason is required to retry (dry_run false): say why, for the audit");
    } catch (const std::invalid_argument& e) {
      return reply_error(request, status_codes::BadRequest, "bad_request", e.what());
    }
    const bool dry_run = body.value("dry_run", true);
    const std::string reason = body.value("reason", "");
    auto answer = to_json(admin_.list(*filter));
    int retried = 0;
    if (!dry_run) {
      for (auto& txn : answer["transactions"]) {
        const auto result = admin_.retry({txn["xid"].get<std::string>(), caller.name, reason});
        txn["outcome"] = action_code(result.outcome, "retried");
        if (result.status) txn["status"] = to_string(*result.status);
        retried += result.outcome == store::ActionOutcome::Applied ? 1 : 0;
      }
    }
    answer["dry_run"] = dry_run;
    answer["retried"] = retried;
    kLog.info({{"caller", caller.name}}, "bulk retry of status {}: {} matched, {} retried{}",
              to_string(*filter->status), answer["transactions"].size(), retried, dry_run ? " (dry run)" : "");
    reply_json(request, status_codes::OK, answer);
  }

  void abandon(const http_request& request, const std::string& encoded_xid, const std::string& body_text,
               const Caller& caller) {
    const auto xid = xid_of(request, encoded_xid);
    if (!xid) return;
    nlohmann::json body;
    try {
      body = admin_body(body_text, {"reason"});
      if (body.value("reason", "").empty())
        throw std::invalid_argument("reason is required: say who took it over, for the audit");
    } catch (const std::invalid_argument& e) {
      return reply_error(request, status_codes::BadRequest, "bad_request", e.what());
    }
    reply_action(request, *xid, caller, "abandon", "abandoned",
                 admin_.abandon({*xid, caller.name, body.value("reason", "")}));
  }

  // The answer to a retry or an abandon, which end in the same four ways.
  static void reply_action(const http_request& request, const std::string& xid, const Caller& caller,
                           std::string_view action, std::string_view applied, const store::ActionResult& result) {
    const auto code = action_code(result.outcome, applied);
    kLog.info({{"xid", xid}, {"caller", caller.name}}, "{}: {}", action, code);
    switch (result.outcome) {
      case store::ActionOutcome::Applied:
        return reply_json(request, status_codes::OK,
                          {{"xid", xid}, {"outcome", code}, {"status", to_string(*result.status)}});
      case store::ActionOutcome::Unknown:
        return reply_error(request, status_codes::NotFound, code, "unknown xid");
      case store::ActionOutcome::Finished:
        return reply_error(request, status_codes::Conflict, code,
                           fmt::format("the transaction is {}: nothing to {}", to_string(*result.status), action));
      case store::ActionOutcome::InFlight:
        return reply_error(request, status_codes::Conflict, code,
                           "a replica is working on the transaction now (its lease holds); try again later");
    }
  }

  store::ReadStore& store_;
  store::AdminStore& admin_;
  Authenticator authenticator_;
  // Before the listener, whose handshakes use it; nothing without TLS.
  std::unique_ptr<TlsCertificate> certificate_;
  std::jthread certificate_watch_;
  // Whether bodies that arrive are still handed to the workers. Shared with the continuations that
  // wait for bodies, which may run after this server is gone: they look here before touching it.
  struct Intake {
    std::mutex mutex;
    bool open = true;
  };
  std::shared_ptr<Intake> intake_ = std::make_shared<Intake>();
  // Before the listener: destroyed after it is closed, so no request is handed over to a
  // worker that is gone.
  RequestWorkers workers_{kWorkerThreads, kMaxQueuedRequests};
  web::http::experimental::listener::http_listener listener_;
};

ApiServer::ApiServer(const std::string& listen, std::vector<ApiToken> tokens, std::optional<ApiTls> tls,
                     store::ReadStore& store, store::AdminStore& admin)
    : impl_(std::make_unique<Impl>(listen, std::move(tokens), std::move(tls), store, admin)) {}

std::optional<std::string> ApiServer::tls_failure() const { return impl_->tls_failure(); }
ApiServer::~ApiServer() = default;

}  // namespace compensatord::http
