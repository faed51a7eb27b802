#include "http/api_server.hpp"

#include "http/request_workers.hpp"
#include "http/transaction_json.hpp"
#include "http/transaction_path.hpp"

// fmt before cpprest: cpprest's U() macro breaks fmt's templates.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cpprest/http_listener.h>

namespace compensatord::http {
namespace {

using web::http::http_request;
using web::http::status_code;
using web::http::status_codes;

// Requests are small and quick; two threads keep the API answering while one waits on the database.
constexpr int kWorkerThreads = 2;
constexpr std::size_t kMaxQueuedRequests = 256;

// Replies are sent without waiting for them to go out: nothing here holds a thread for the
// network. Their outcome is still observed, in a continuation that does not block (the task is
// done by then): pplx stops the process with SIGTRAP on an exception nobody observed.
void observe(const pplx::task<void>& sent) {
  sent.then([](const pplx::task<void>& done) {
    try {
      done.get();
    } catch (const std::exception& e) {
      spdlog::debug("http: a reply could not be sent: {}", e.what());
    }
  });
}

void reply_json(const http_request& request, status_code status, const nlohmann::json& body) {
  observe(request.reply(status, body.dump(), "application/json"));
}

void reply_error(const http_request& request, status_code status, const std::string& message) {
  reply_json(request, status, {{"error", message}});
}

// Kubernetes-style probe answer: the status says it all; ?verbose adds one line per check.
void reply_checks(const http_request& request, const std::string& endpoint, const std::vector<HealthCheck>& checks) {
  std::string lines;
  bool passed = true;
  for (const auto& check : checks) {
    if (auto failure = check.failure()) {
      passed = false;
      spdlog::warn("http: {} check {} failed: {}", endpoint, check.name, *failure);
      lines += fmt::format("[-]{} failed: {}\n", check.name, *failure);
    } else {
      lines += fmt::format("[+]{} ok\n", check.name);
    }
  }
  const bool verbose = request.relative_uri().query().find("verbose") != std::string::npos;
  std::string body = verbose ? lines : std::string();
  body += fmt::format("{} check {}\n", endpoint, passed ? "passed" : "failed");
  observe(request.reply(passed ? status_codes::OK : status_codes::ServiceUnavailable, body));
}

}  // namespace

class ApiServer::Impl {
 public:
  Impl(const std::string& listen, store::Store& store, HealthChecks checks)
      : store_(store),
        checks_(std::move(checks)),
        listener_(utility::conversions::to_string_t(fmt::format("http://{}/", listen))) {
    listener_.support(web::http::methods::GET, [this](const http_request& r) { hand_over(r); });
    try {
      listener_.open().wait();
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("cannot listen on http.listen {}: {}", listen, e.what()));
    }
  }
  ~Impl() {
    try {
      listener_.close().wait();
    } catch (const std::exception& e) {
      spdlog::warn("http: closing the listener failed: {}", e.what());
    }
  }

 private:
  // On a cpprestsdk pool thread: queue the request for the API's own workers and return.
  void hand_over(const http_request& request) {
    if (!workers_.post([this, request] { handle(request); })) {
      reply_error(request, status_codes::ServiceUnavailable, "too many requests in progress");
    }
  }

  void handle(const http_request& request) {
    try {
      route(request);
    } catch (const std::exception& e) {
      spdlog::error("http: {} failed: {}", request.relative_uri().path(), e.what());
      reply_error(request, status_codes::InternalError, "internal error");
    }
  }

  void route(const http_request& request) {
    const std::string path = request.relative_uri().path();
    if (path == "/healthz") return reply_checks(request, "healthz", checks_.liveness);
    if (path == "/readyz") return reply_checks(request, "readyz", checks_.readiness);
    const std::string prefix = "/v1/transactions/";
    if (path.rfind(prefix, 0) == 0) return transaction(request, path.substr(prefix.size()));
    reply_error(request, status_codes::NotFound, "no such endpoint");
  }

  void transaction(const http_request& request, const std::string& encoded_xid) {
    auto named = xid_from_segment(encoded_xid);
    if (auto* problem = std::get_if<PathProblem>(&named)) {
      return reply_error(request, status_codes::BadRequest, problem->message);
    }
    const auto& xid = std::get<std::string>(named);
    auto txn = store_.find(xid);
    if (!txn) return reply_error(request, status_codes::NotFound, "unknown xid");
    reply_json(request, status_codes::OK, to_json(*txn));
  }

  store::Store& store_;
  HealthChecks checks_;
  // Before the listener: destroyed after it is closed, so no request is handed over to a
  // worker that is gone.
  RequestWorkers workers_{kWorkerThreads, kMaxQueuedRequests};
  web::http::experimental::listener::http_listener listener_;
};

ApiServer::ApiServer(const std::string& listen, store::Store& store, HealthChecks checks)
    : impl_(std::make_unique<Impl>(listen, store, std::move(checks))) {}
ApiServer::~ApiServer() = default;

}  // namespace compensatord::http
