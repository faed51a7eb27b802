#include "legacy_services/server.hpp"

#include "legacy_services/bounded_workers.hpp"
#include "legacy_services/delayed_calls.hpp"
#include "legacy_services/ledger.hpp"
#include "legacy_services/order_database.hpp"
#include "legacy_services/request.hpp"

#include <cpprest/http_listener.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <variant>
#include <vector>

namespace demo {

namespace {

using web::http::http_request;
using web::http::methods;

struct Answer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

Answer json_answer(int status, const nlohmann::json& body) { return {status, body.dump(), "application/json"}; }
Answer reply_answer(const Reply& reply) { return json_answer(code_http_status(reply.code), reply_body(reply)); }
Answer error_answer(int status, const std::string& msg) {
  return json_answer(status, {{"code", status}, {"msg", msg}});
}

// A validated call to one of the services: whose knobs it runs under, and what applying it answers.
struct Call {
  std::string service;
  bool database = false;  // runs on the order workers: database work never runs on the pool
  std::function<Answer()> apply;
};

// What a request comes to: an answer given at once (admin, errors), or a call to a service.
using Outcome = std::variant<Answer, Call>;

// What a request is sent to: its method and its path, split and percent-decoded.
struct Route {
  web::http::method method;
  std::vector<std::string> segments;

  [[nodiscard]] bool is(const web::http::method& m, std::initializer_list<std::string_view> prefix,
                        std::size_t total) const {
    if (method != m || segments.size() != total) return false;
    std::size_t i = 0;
    for (auto part : prefix) {
      if (segments[i++] != part) return false;
    }
    return true;
  }
};

std::string decoded(const std::string& segment) {
  try {
    return web::uri::decode(segment);
  } catch (const std::exception&) {
    throw BadRequest("path: invalid percent-encoding");
  }
}

Route route_of(const http_request& request) {
  Route route{request.method(), {}};
  for (const auto& segment : web::uri::split_path(request.relative_uri().path())) {
    route.segments.push_back(decoded(segment));
  }
  return route;
}

std::pair<std::string, std::string> split_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("--listen: expected HOST:PORT, got " + listen);
  const std::string port_text = listen.substr(colon + 1);
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    throw std::invalid_argument("--listen: port must be 1..65535, got " + listen);
  }
  return {listen.substr(0, colon), port_text};
}

void validate(const ServicesOptions& options) {
  split_listen(options.listen);
  if (options.skus < 1 || options.skus > 100'000) throw std::invalid_argument("--skus: must be 1..100000");
  if (options.stock_per_sku < 0) throw std::invalid_argument("--stock-per-sku: must not be negative");
  if (options.coupons < 0 || options.coupons > 10'000'000)
    throw std::invalid_argument("--coupons: must be 0..10000000");
  if (options.order_db_connections < 1 || options.order_db_connections > 64) {
    throw std::invalid_argument("--order-db-connections: must be 1..64");
  }
  if (options.order_queue < 1 || options.order_queue > 100'000) {
    throw std::invalid_argument("--order-queue: must be 1..100000");
  }
  for (const auto& [service, knobs] : options.knobs) {
    if (std::find(std::begin(kServiceNames), std::end(kServiceNames), service) == std::end(kServiceNames)) {
      throw std::invalid_argument("knobs: unknown service " + service + " (known: stock, coupon, order)");
    }
  }
}

// The answer a fault gives instead of the real one (`real` is what would have been sent).
Answer fault_answer(Fault fault, const Answer& real) {
  switch (fault) {
    case Fault::Fail:
    case Fault::LostReply:
      return error_answer(500, "internal error");
    case Fault::Rejected:
      return error_answer(403, "forbidden");
    case Fault::Unavailable:
      return {503, "", "text/plain"};
    case Fault::Html:
      return {200, "<html><body><h1>Service temporarily busy</h1></body></html>", "text/html"};
    case Fault::UnknownCode:
      return json_answer(200, {{"code", 9999}, {"msg", "system busy"}});
    case Fault::TruncatedJson:
      return {200, real.body.substr(0, real.body.size() / 2), "application/json"};
    case Fault::None:
      break;
  }
  return real;
}

}  // namespace

struct LegacyServices::Impl : std::enable_shared_from_this<LegacyServices::Impl> {
  ServicesOptions options;
  Ledger stock;
  Ledger coupon;
  std::unique_ptr<OrderDatabase> orders;
  FaultDice dice;
  std::mutex knobs_mutex;
  std::map<std::string, Knobs> knobs;
  // Declared after what their work uses, so that they stop (finishing that work) first.
  std::unique_ptr<BoundedWorkers> order_workers;
  DelayedCalls delayed;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener;

  explicit Impl(ServicesOptions opts)
      : options(std::move(opts)),
        stock(make_stock_pool(options.skus, options.stock_per_sku)),
        coupon(make_coupon_pool(options.coupons)),
        dice(options.seed) {
    for (const char* service : kServiceNames) knobs[service] = options.knobs[service];
    if (!options.order_dsn.empty()) {
      orders = std::make_unique<OrderDatabase>(options.order_dsn, options.order_db_connections);
      // One worker per connection: a worker never waits for a connection.
      order_workers =
          std::make_unique<BoundedWorkers>(options.order_db_connections, static_cast<std::size_t>(options.order_queue));
    }
  }

  [[nodiscard]] std::string url() const {
    auto [host, port] = split_listen(options.listen);
    return fmt::format("http://{}:{}", host, port);
  }

  Knobs knobs_of(const std::string& service) {
    std::lock_guard guard(knobs_mutex);
    return knobs[service];
  }

  // Answers every delayed and queued call now, so that nothing waits on a closing listener.
  void finish_pending() {
    delayed.stop();
    if (order_workers) order_workers->stop();
  }

  Call stock_lock(const nlohmann::json& body) {
    auto order_no = required_text(body, "orderNo");
    check_order_no(order_no, "orderNo");
    auto sku = required_text(body, "sku");
    const auto qty = required_qty(body, "qty");
    return {"stock", false, [this, order_no, sku, qty] { return reply_answer(stock.lock(order_no, sku, qty)); }};
  }

  Call stock_rollback(const std::string& path_order_no, const nlohmann::json& body) {
    auto order_no = keyed_order_no(path_order_no, body);
    auto sku = optional_text(body, "sku");
    const long long qty = body.contains("qty") && !body["qty"].is_null() ? required_qty(body, "qty") : 0;
    return {"stock", false, [this, order_no, sku, qty] { return reply_answer(stock.rollback(order_no, sku, qty)); }};
  }

  Call stock_confirm(const std::string& path_order_no, const nlohmann::json& body) {
    auto order_no = keyed_order_no(path_order_no, body);
    return {"stock", false, [this, order_no] { return reply_answer(stock.confirm(order_no)); }};
  }

  Call coupon_lock(const nlohmann::json& body) {
    auto order_no = required_text(body, "orderNo");
    check_order_no(order_no, "orderNo");
    auto coupon_id = required_text(body, "couponId");
    return {"coupon", false, [this, order_no, coupon_id] { return reply_answer(coupon.lock(order_no, coupon_id, 1)); }};
  }

  Call coupon_unlock(const std::string& path_order_no, const nlohmann::json& body) {
    auto order_no = keyed_order_no(path_order_no, body);
    auto coupon_id = optional_text(body, "couponId");
    return {"coupon", false,
            [this, order_no, coupon_id] { return reply_answer(coupon.rollback(order_no, coupon_id, 1)); }};
  }

  Call coupon_use(const std::string& path_order_no, const nlohmann::json& body) {
    auto order_no = keyed_order_no(path_order_no, body);
    return {"coupon", false, [this, order_no] { return reply_answer(coupon.confirm(order_no)); }};
  }

  Answer create_order(const Order& order) {
    switch (orders->create(order)) {
      case CreateResult::Created:
        return reply_answer({Code::Ok, ""});
      case CreateResult::AlreadyExists:
        return reply_answer({Code::Already, "order exists"});
      case CreateResult::Cancelled:
        return reply_answer({Code::Cancelled, "transaction cancelled"});
    }
    return error_answer(500, "unknown create result");
  }

  Answer find_order(const std::string& order_no) {
    auto order = orders->find(order_no);
    if (!order) return reply_answer({Code::NotFound, "order not found"});
    return json_answer(200, {{"code", 0},
                             {"orderNo", order->order_no},
                             {"sku", order->sku},
                             {"qty", order->qty},
                             {"couponId", order->coupon_id}});
  }

  Call order_create(const nlohmann::json& body) {
    Order order;
    order.order_no = required_text(body, "orderNo");
    check_order_no(order.order_no, "orderNo");
    order.sku = required_text(body, "sku");
    order.qty = required_qty(body, "qty");
    order.coupon_id = optional_text(body, "couponId");
    return {"order", true, [this, order] { return create_order(order); }};
  }

  Call order_get(const std::string& order_no) {
    check_order_no(order_no, "path orderNo");
    return {"order", true, [this, order_no] { return find_order(order_no); }};
  }

  Answer knobs_answer() {
    std::lock_guard guard(knobs_mutex);
    nlohmann::json body = nlohmann::json::object();
    for (const auto& [service, current] : knobs) body[service] = to_json(current);
    return json_answer(200, body);
  }

  // All services' updates are checked before any is applied.
  Answer update_knobs(const nlohmann::json& body) {
    {
      std::lock_guard guard(knobs_mutex);
      auto changed = knobs;
      for (const auto& [service, update] : body.items()) {
        auto it = changed.find(service);
        if (it == changed.end()) throw BadRequest(service + ": unknown service (known: stock, coupon, order)");
        if (auto problem = apply_update(it->second, update, service)) throw BadRequest(*problem);
      }
      knobs = std::move(changed);
    }
    return knobs_answer();
  }

  Answer totals() { return json_answer(200, {{"stock", stock.totals()}, {"coupon", coupon.totals()}}); }

  // `body` is the request's whole body, already read ("" for a GET).
  Outcome dispatch(const http_request& request, const std::string& body) {
    const Route route = route_of(request);
    const auto& s = route.segments;
    if (route.is(methods::GET, {"healthz"}, 1)) return Answer{200, "ok", "text/plain"};
    if (route.is(methods::GET, {"admin", "totals"}, 2)) return totals();
    if (route.is(methods::GET, {"admin", "knobs"}, 2)) return knobs_answer();
    if (route.is(methods::POST, {"admin", "knobs"}, 2)) return update_knobs(parse_body(body));
    if (route.is(methods::POST, {"api", "stock", "lock"}, 3)) return stock_lock(parse_body(body));
    if (route.is(methods::POST, {"api", "stock", "rollback"}, 4)) return stock_rollback(s[3], parse_body(body));
    if (route.is(methods::POST, {"api", "stock", "confirm"}, 4)) return stock_confirm(s[3], parse_body(body));
    if (route.is(methods::POST, {"api", "coupon", "lock"}, 3)) return coupon_lock(parse_body(body));
    if (route.is(methods::POST, {"api", "coupon", "unlock"}, 4)) return coupon_unlock(s[3], parse_body(body));
    if (route.is(methods::POST, {"api", "coupon", "use"}, 4)) return coupon_use(s[3], parse_body(body));
    if (s.size() >= 2 && s[0] == "api" && s[1] == "order" && !orders) {
      return error_answer(503, "order service not configured: start legacy-services with --order-dsn");
    }
    if (route.is(methods::POST, {"api", "order", "create"}, 3)) return order_create(parse_body(body));
    if (route.is(methods::GET, {"api", "order"}, 3)) return order_get(s[2]);
    return error_answer(404, "no such endpoint");
  }

  static Answer exception_answer(const http_request& request, const std::exception& e) {
    if (dynamic_cast<const BadRequest*>(&e) != nullptr) return error_answer(400, e.what());
    spdlog::error("{} {}: {}", request.method(), request.relative_uri().to_string(), e.what());
    return error_answer(500, e.what());
  }

  // Safe from any thread: reply() hands the response to the listener and does not wait.
  static void send(http_request request, const Answer& answer) {
    web::http::http_response response(static_cast<web::http::status_code>(answer.status));
    if (!answer.body.empty()) response.set_body(answer.body, answer.content_type);
    try {
      request.reply(response).then([](pplx::task<void> sent) {
        try {
          sent.get();  // a task-based continuation runs once `sent` is done: get() only observes its outcome
        } catch (const std::exception& e) {
          spdlog::debug("reply not delivered: {}", e.what());
        }
      });
    } catch (const std::exception& e) {
      spdlog::debug("reply not sent: {}", e.what());
    }
  }

  void apply_and_send(const http_request& request, Fault fault, const Call& call) {
    Answer answer;
    try {
      answer = fault_answer(fault, call.apply());
    } catch (const std::exception& e) {
      answer = exception_answer(request, e);
    }
    send(request, answer);
  }

  // The call's fault, then applying it: in place for the in-memory ledgers, on the order workers
  // for the database (503 when their queue is full: waiting for room would hold this thread).
  void finish(const http_request& request, const Knobs& current, const Call& call) {
    const Fault fault = dice.roll(current);
    if (!applies_before_reply(fault)) return send(request, fault_answer(fault, {}));
    if (!call.database) return apply_and_send(request, fault, call);
    const bool queued = order_workers->try_post([this, request, fault, call] { apply_and_send(request, fault, call); });
    if (!queued) send(request, error_answer(503, "order database busy: request queue full"));
  }

  // Runs a call under its service's knobs. The added latency is a timer, not a sleep.
  void run(const http_request& request, Call call) {
    const Knobs current = knobs_of(call.service);
    const auto delay = dice.latency(current);
    if (delay <= std::chrono::milliseconds::zero()) return finish(request, current, call);
    delayed.after(delay, [this, request, current, call = std::move(call)] { finish(request, current, call); });
  }

  void serve(const http_request& request, const std::string& body) {
    try {
      auto outcome = dispatch(request, body);
      if (auto* call = std::get_if<Call>(&outcome)) return run(request, std::move(*call));
      send(request, std::get<Answer>(outcome));
    } catch (const std::exception& e) {
      send(request, exception_answer(request, e));
    }
  }

  // cpprestsdk calls this before the body has arrived, and reads the body on the same pool: the
  // body is taken in a continuation, never waited for here.
  void handle(const http_request& request) {
    if (request.method() != methods::POST) return serve(request, "");
    if (request.headers().content_length() > kMaxBodyBytes) {
      return send(request, error_answer(400, fmt::format("body larger than {} bytes", kMaxBodyBytes)));
    }
    request.extract_vector().then([self = shared_from_this(), request](pplx::task<std::vector<unsigned char>> read) {
      std::vector<unsigned char> bytes;
      try {
        bytes = read.get();  // a task-based continuation runs once the read is done: get() does not wait
      } catch (const std::exception& e) {
        return send(request, exception_answer(request, e));
      }
      self->serve(request, std::string(bytes.begin(), bytes.end()));
    });
  }
};

LegacyServices::LegacyServices(ServicesOptions options) {
  validate(options);
  impl_ = std::make_shared<Impl>(std::move(options));
}

LegacyServices::~LegacyServices() { stop(); }

void LegacyServices::start() {
  impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(impl_->url());
  impl_->listener->support([impl = impl_.get()](const http_request& request) { impl->handle(request); });
  impl_->listener->open().wait();
  spdlog::info("legacy services listening on {}", impl_->url());
}

// Runs on the caller's thread, never on the pool: the waits here are allowed.
void LegacyServices::stop() {
  if (!impl_ || !impl_->listener) return;
  impl_->finish_pending();
  impl_->listener->close().wait();
  impl_->listener.reset();
}

std::string LegacyServices::url() const { return impl_->url(); }

}  // namespace demo
