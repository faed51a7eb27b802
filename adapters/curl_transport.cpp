// libcurl's multi interface behind HttpTransport (see http_transport.hpp). One event thread owns the
// multi handle and every transfer on it; send() hands requests over through a mutex-protected queue
// and wakes that thread. The multi handle's connection cache keeps connections to each participant
// open between requests (HTTP keep-alive).
#include "adapters/http_transport.hpp"
#include "adapters/transport_detail.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <strings.h>
#include <algorithm>
#include <array>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace compensatord::adapters {
namespace {

using Clock = std::chrono::steady_clock;

// How long the event thread sleeps with nothing to do; curl shortens it for its own timers, and
// send() and the destructor wake it at once.
constexpr int kIdlePollMs = 1000;

struct EasyCleanup {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiCleanup {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyCleanup>;
using MultiHandle = std::unique_ptr<CURLM, MultiCleanup>;
using HeaderList = std::unique_ptr<curl_slist, SlistFree>;

// One request from send() until its handler is called. curl keeps pointers into it (request body,
// header list, error buffer), so it stays at one address: always held by unique_ptr.
struct Transfer {
  HttpRequest request;
  ResponseHandler done;
  Clock::time_point deadline;
  EasyHandle easy;
  HeaderList headers;
  std::string body;  // the answer's, at most kMaxResponseBody
  bool cut = false;  // the answer was longer than the cap; the rest was refused
  std::array<char, CURL_ERROR_SIZE> error{};
};

void init_curl_once() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) throw std::runtime_error(fmt::format("curl_global_init: {}", curl_easy_strerror(code)));
}

// Keeps at most kMaxResponseBody bytes; returning less than offered makes curl stop the transfer
// (CURLE_WRITE_ERROR), which complete() treats as a cut answer, not a failure.
std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t offered = size * count;
  const std::size_t room = kMaxResponseBody - transfer.body.size();
  const std::size_t taken = std::min(offered, room);
  transfer.body.append(data, taken);
  if (taken < offered) transfer.cut = true;
  return taken;
}

bool is_named(const std::string& header, const char* name) { return ::strcasecmp(header.c_str(), name) == 0; }

// Methods whose requests carry a body (possibly empty, then with Content-Length: 0).
bool sends_body(const HttpRequest& request) {
  return !request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
}

HeaderList header_list(const HttpRequest& request) {
  curl_slist* list = nullptr;
  auto append = [&list](const std::string& line) {
    curl_slist* longer = curl_slist_append(list, line.c_str());
    if (longer == nullptr) {
      curl_slist_free_all(list);
      throw std::bad_alloc();
    }
    list = longer;
  };
  // No "Expect: 100-continue" round trip before bodies.
  append("Expect:");
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    has_content_type = has_content_type || is_named(name, "Content-Type");
    // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
    append(value.empty() ? fmt::format("{};", name) : fmt::format("{}: {}", name, value));
  }
  // curl would otherwise label every body as a form.
  if (!has_content_type && sends_body(request)) {
    append(request.body.empty() ? "Content-Type:" : "Content-Type: application/octet-stream");
  }
  return HeaderList(list);
}

template <typename Value>
void set(CURL* easy, CURLoption option, Value value) {
  if (CURLcode code = curl_easy_setopt(easy, option, value); code != CURLE_OK) {
    throw std::runtime_error(
        fmt::format("cannot set curl option {}: {}", static_cast<int>(option), curl_easy_strerror(code)));
  }
}

void set_method_and_body(CURL* easy, const HttpRequest& request) {
  if (request.method == "HEAD") {
    set(easy, CURLOPT_NOBODY, 1L);
    return;
  }
  if (sends_body(request)) {
    set(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set(easy, CURLOPT_POSTFIELDS, request.body.data());
  }
  if (request.method != "GET" && request.method != "POST") set(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
}

// Every option of one request except its timeout, which is set when the transfer starts.
void prepare(Transfer& transfer, const TransportOptions& options) {
  transfer.easy.reset(curl_easy_init());
  CURL* easy = transfer.easy.get();
  if (easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  transfer.headers = header_list(transfer.request);
  set(easy, CURLOPT_URL, transfer.request.url.c_str());
  set(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  set(easy, CURLOPT_NOSIGNAL, 1L);  // signals would hit whichever thread of the daemon
  set(easy, CURLOPT_PRIVATE, static_cast<void*>(&transfer));
  set(easy, CURLOPT_ERRORBUFFER, transfer.error.data());
  set(easy, CURLOPT_WRITEFUNCTION, write_body);
  set(easy, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  set(easy, CURLOPT_HTTPHEADER, transfer.headers.get());
  set(easy, CURLOPT_TCP_KEEPALIVE, 1L);  // notice pooled connections that died quietly
  set(easy, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L);
  set(easy, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L);
  if (!options.ca_file.empty()) set(easy, CURLOPT_CAINFO, options.ca_file.c_str());
  set_method_and_body(easy, transfer.request);
}

bool is_tls_error(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return true;
    default:
      return false;
  }
}

std::string describe(CURLcode code, const Transfer& transfer) {
  if (code == CURLE_OPERATION_TIMEDOUT) return detail::timed_out(transfer.request.timeout);
  std::string text = curl_easy_strerror(code);
  if (transfer.error[0] != '\0') text = fmt::format("{}: {}", text, transfer.error.data());
  return is_tls_error(code) ? fmt::format("TLS: {}", text) : text;
}

HttpResponse response_of(Transfer& transfer, CURLcode code) {
  const bool answered = code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer.cut);
  if (!answered) return detail::failed(describe(code, transfer));
  long status = 0;
  curl_easy_getinfo(transfer.easy.get(), CURLINFO_RESPONSE_CODE, &status);
  HttpResponse response;
  response.status = static_cast<int>(status);
  response.body = std::move(transfer.body);
  return response;
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(TransportOptions options) : options_(options) {
    init_curl_once();
    multi_.reset(curl_multi_init());
    if (!multi_) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(std::max(options_.kept_connections, 1)));
    if (options_.max_host_connections > 0) {
      curl_multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_host_connections));
    }
    event_thread_ = std::thread([this] { run(); });
  }

  ~CurlTransport() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_.get());
    event_thread_.join();
  }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void send(HttpRequest request, ResponseHandler done) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->deadline = Clock::now() + request.timeout;
    transfer->request = std::move(request);
    transfer->done = std::move(done);
    if (auto problem = detail::header_problem(transfer->request)) {
      transfer->done(detail::failed(std::move(*problem)));
      return;
    }
    try {
      prepare(*transfer, options_);
    } catch (const std::exception& e) {
      transfer->done(detail::failed(e.what()));
      return;
    }
    std::unique_lock lock(mutex_);
    if (stopping_) {
      lock.unlock();  // a handler may send again
      transfer->done(detail::failed("the HTTP transport is shutting down"));
      return;
    }
    queue_.push_back(std::move(transfer));
    lock.unlock();
    curl_multi_wakeup(multi_.get());
  }

 private:
  using Running = std::unordered_map<CURL*, std::unique_ptr<Transfer>>;

  // The event thread: adds what send() queued, moves every transfer, hands finished ones to their
  // handlers, and sleeps in curl_multi_poll until a socket, a curl timer or a wake-up needs it.
  void run() {
    Running running;
    while (adopt_queued(running)) {
      int still_running = 0;
      curl_multi_perform(multi_.get(), &still_running);
      complete_finished(running);
      curl_multi_poll(multi_.get(), nullptr, 0, kIdlePollMs, nullptr);
    }
    fail_all(running);
  }

  // Starts the queued transfers; false once the transport is stopping.
  bool adopt_queued(Running& running) {
    std::deque<std::unique_ptr<Transfer>> arrived;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      arrived.swap(queue_);
    }
    for (auto& transfer : arrived) start(running, std::move(transfer));
    return true;
  }

  void start(Running& running, std::unique_ptr<Transfer> transfer) {
    // The timeout counts from send(), not from when this thread got to the request.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(transfer->deadline - Clock::now());
    curl_easy_setopt(transfer->easy.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long>(left.count(), 1)));
    if (CURLMcode code = curl_multi_add_handle(multi_.get(), transfer->easy.get()); code != CURLM_OK) {
      transfer->done(detail::failed(fmt::format("cannot start the request: {}", curl_multi_strerror(code))));
      return;
    }
    CURL* easy = transfer->easy.get();
    running.emplace(easy, std::move(transfer));
  }

  void complete_finished(Running& running) {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      // `message` does not survive curl_multi_remove_handle.
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      curl_multi_remove_handle(multi_.get(), easy);
      auto finished = running.extract(easy);
      if (finished.empty()) continue;
      Transfer& transfer = *finished.mapped();
      transfer.done(response_of(transfer, code));
    }
  }

  // At shutdown: every request still queued or running gets its answer, an error.
  void fail_all(Running& running) {
    std::deque<std::unique_ptr<Transfer>> queued;
    {
      std::lock_guard lock(mutex_);
      queued.swap(queue_);
    }
    for (auto& transfer : queued) transfer->done(detail::failed("the HTTP transport shut down before sending"));
    for (auto& [easy, transfer] : running) {
      curl_multi_remove_handle(multi_.get(), easy);
      transfer->done(detail::failed("the HTTP transport shut down before the answer"));
    }
    running.clear();
  }

  TransportOptions options_;
  MultiHandle multi_;
  std::mutex mutex_;
  std::deque<std::unique_ptr<Transfer>> queue_;  // guarded by mutex_
  bool stopping_ = false;                        // guarded by mutex_
  std::thread event_thread_;
};

}  // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace compensatord::adapters
