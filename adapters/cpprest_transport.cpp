// The only place that includes cpprestsdk's client (slow to compile, in maintenance mode): see
// http_transport.hpp. Nothing here blocks a pplx pool thread: every step is a continuation, and one
// thread of the transport's own enforces the deadlines by cancelling calls that run past them.
#include "adapters/http_transport.hpp"
#include "adapters/transport_detail.hpp"

// cpprest's U() macro would break fmt's templates.
#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace compensatord::adapters {
namespace {

using Clock = std::chrono::steady_clock;
using web::http::client::http_client;

// Bytes asked of the response stream per read.
constexpr std::size_t kReadChunk = 64 * 1024;

// One request in flight: shared by its continuations, the deadline thread and the destructor.
struct Call {
  std::uint64_t id = 0;
  Clock::time_point deadline;
  std::chrono::milliseconds timeout{};
  ResponseHandler done;
  pplx::cancellation_token_source cancel;
  web::http::http_response answer;  // holds the body stream while it is read
  std::string body;
};

// The calls whose handler has not been called. Whoever claims a call first (its last continuation,
// the deadline thread, the destructor) calls the handler; the others find it gone.
class CallTable {
 public:
  // False once closed: the call must be failed by the caller.
  bool add(const std::shared_ptr<Call>& call) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    calls_.emplace(key_of(*call), call);
    ++unfinished_;
    changed_.notify_all();
    return true;
  }

  // True for exactly one caller per call, who must then call its handler and handler_returned().
  bool claim(const Call& call) {
    std::lock_guard lock(mutex_);
    return calls_.erase(key_of(call)) == 1;
  }

  void handler_returned() {
    std::lock_guard lock(mutex_);
    --unfinished_;
    changed_.notify_all();
  }

  // Blocks until some calls pass their deadline and returns them claimed; empty once closed.
  std::vector<std::shared_ptr<Call>> wait_for_expired() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (closed_) return {};
      const auto now = Clock::now();
      if (!calls_.empty() && calls_.begin()->first.first <= now) return take_expired(now);
      if (calls_.empty()) {
        changed_.wait(lock);
      } else {
        // A copy: wait_until reads the time point again after waking, when the call may be gone.
        const Clock::time_point next_deadline = calls_.begin()->first.first;
        changed_.wait_until(lock, next_deadline);
      }
    }
  }

  // Refuses new calls, wakes wait_for_expired(), and returns every unclaimed call, claimed.
  std::vector<std::shared_ptr<Call>> close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    std::vector<std::shared_ptr<Call>> outstanding;
    for (auto& [key, call] : calls_) outstanding.push_back(std::move(call));
    calls_.clear();
    changed_.notify_all();
    return outstanding;
  }

  // Waits until every added call's handler has returned (some may be running on pool threads).
  void wait_until_all_returned() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return unfinished_ == 0; });
  }

 private:
  using Key = std::pair<Clock::time_point, std::uint64_t>;  // deadline first: the map is the timer queue
  static Key key_of(const Call& call) { return {call.deadline, call.id}; }

  std::vector<std::shared_ptr<Call>> take_expired(Clock::time_point now) {
    std::vector<std::shared_ptr<Call>> expired;
    while (!calls_.empty() && calls_.begin()->first.first <= now) {
      expired.push_back(std::move(calls_.begin()->second));
      calls_.erase(calls_.begin());
    }
    return expired;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Key, std::shared_ptr<Call>> calls_;
  std::size_t unfinished_ = 0;  // added, handler not yet returned
  bool closed_ = false;
};

// Gives `call` its answer unless someone else already did.
void finish(CallTable& table, Call& call, HttpResponse response) {
  if (!table.claim(call)) return;
  call.done(std::move(response));
  table.handler_returned();
}

void fail(CallTable& table, Call& call, const std::string& what) {
  // Frees the connection of a call that is still running.
  call.cancel.cancel();
  // cpprest's own timer may fire first, with a vaguer "Operation canceled".
  finish(table, call, detail::failed(Clock::now() >= call.deadline ? detail::timed_out(call.timeout) : what));
}

void read_body(const std::shared_ptr<CallTable>& table, const std::shared_ptr<Call>& call);

// Continuation of one body read of `have` + up to kReadChunk bytes. The antecedent has finished,
// so get() returns at once, with its value or its exception.
void on_body_read(const std::shared_ptr<CallTable>& table, const std::shared_ptr<Call>& call, std::size_t have,
                  const pplx::task<std::size_t>& read) {
  try {
    const std::size_t got = read.get();
    call->body.resize(have + got);
    if (got > 0) {
      read_body(table, call);
      return;
    }
    finish(*table, *call, HttpResponse{call->answer.status_code(), std::move(call->body), ""});
  } catch (const std::exception& e) {
    fail(*table, *call, e.what());
  }
}

// Reads the next chunk of the body; at the cap, drops the rest (cancelling closes the connection).
void read_body(const std::shared_ptr<CallTable>& table, const std::shared_ptr<Call>& call) {
  const std::size_t have = call->body.size();
  if (have >= kMaxResponseBody) {
    call->cancel.cancel();
    finish(*table, *call, HttpResponse{call->answer.status_code(), std::move(call->body), ""});
    return;
  }
  const std::size_t want = std::min(kReadChunk, kMaxResponseBody - have);
  call->body.resize(have + want);
  // The buffer lives in `call`, which the continuation keeps alive until the read is over.
  auto* into = reinterpret_cast<uint8_t*>(call->body.data() + have);
  call->answer.body().streambuf().getn(into, want).then([table, call, have](const pplx::task<std::size_t>& read) {
    on_body_read(table, call, have, read);
  });
}

void on_answer(const std::shared_ptr<CallTable>& table, const std::shared_ptr<Call>& call,
               const pplx::task<web::http::http_response>& answered) {
  try {
    call->answer = answered.get();  // finished antecedent: returns at once
    read_body(table, call);
  } catch (const std::exception& e) {
    fail(*table, *call, e.what());
  }
}

web::http::http_request to_message(const HttpRequest& request, const web::uri& uri) {
  web::http::http_request message(request.method);
  message.set_request_uri(uri.resource());
  std::string content_type = "application/octet-stream";
  for (const auto& [name, value] : request.headers) {
    if (utility::details::str_iequal(name, web::http::header_names::content_type)) {
      content_type = value;
    } else {
      message.headers().add(name, value);
    }
  }
  if (!request.body.empty()) message.set_body(request.body, content_type);
  return message;
}

class CpprestTransport final : public HttpTransport {
 public:
  explicit CpprestTransport(TransportOptions options)
      : options_(options), table_(std::make_shared<CallTable>()), deadline_thread_([this] { enforce_deadlines(); }) {}

  ~CpprestTransport() override {
    std::vector<std::shared_ptr<Call>> outstanding = table_->close();
    deadline_thread_.join();
    for (const auto& call : outstanding) {
      call->cancel.cancel();
      call->done(detail::failed("the HTTP transport shut down before the answer"));
      table_->handler_returned();
    }
    table_->wait_until_all_returned();
  }

  CpprestTransport(const CpprestTransport&) = delete;
  CpprestTransport& operator=(const CpprestTransport&) = delete;

  void send(HttpRequest request, ResponseHandler done) override {
    auto call = std::make_shared<Call>();
    call->deadline = Clock::now() + request.timeout;
    call->timeout = request.timeout;
    call->done = std::move(done);
    std::shared_ptr<http_client> client;
    web::http::http_request message;
    try {
      if (auto problem = detail::header_problem(request)) throw std::invalid_argument(*problem);
      web::uri uri(request.url);
      message = to_message(request, uri);
      client = client_for(uri, request.timeout);
    } catch (const std::exception& e) {
      call->done(detail::failed(e.what()));
      return;
    }
    call->id = next_id_.fetch_add(1);
    if (!table_->add(call)) {
      call->done(detail::failed("the HTTP transport is shutting down"));
      return;
    }
    try {
      client->request(message, call->cancel.get_token())
          .then([table = table_, call](const pplx::task<web::http::http_response>& answered) {
            on_answer(table, call, answered);
          });
    } catch (const std::exception& e) {
      fail(*table_, *call, e.what());
    }
  }

 private:
  void enforce_deadlines() {
    for (auto expired = table_->wait_for_expired(); !expired.empty(); expired = table_->wait_for_expired()) {
      for (const auto& call : expired) {
        call->cancel.cancel();
        call->done(detail::failed(detail::timed_out(call->timeout)));
        table_->handler_returned();
      }
    }
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
  std::atomic<std::uint64_t> next_id_{0};
  std::shared_ptr<CallTable> table_;  // shared with the continuations, which may outlive the transport
  std::thread deadline_thread_;       // last: starts once everything it uses exists
};

}  // namespace

std::unique_ptr<HttpTransport> make_cpprest_transport(const TransportOptions& options) {
  return std::make_unique<CpprestTransport>(options);
}

}  // namespace compensatord::adapters
