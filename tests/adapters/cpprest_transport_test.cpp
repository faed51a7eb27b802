// The cpprestsdk transport against a real HTTP server on 127.0.0.1, started and stopped by each test.
#include "adapters/http_transport.hpp"
#include "adapters/participant.hpp"
#include "adapters/participant_spec.hpp"
#include "test_support.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>
#include <cpprest/producerconsumerstream.h>

#include <functional>
#include <mutex>
#include <thread>

namespace compensatord::adapters {
namespace {

using web::http::http_request;
using web::http::experimental::listener::http_listener;

// A port nobody listens on right now (bound to 0, read back, released).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

struct Received {
  std::string method;
  std::string uri;  // as sent: path and query, still percent-encoded
  std::map<std::string, std::string> headers;
  std::string body;
};

// An HTTP server on 127.0.0.1 that records requests and answers with `handler`.
class TestServer {
 public:
  using Handler = std::function<void(http_request&)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    for (int tries = 0; tries < 5; ++tries) {
      port_ = free_port();
      listener_ = std::make_unique<http_listener>(fmt::format("http://127.0.0.1:{}", port_));
      listener_->support([this](http_request request) { handle(request); });
      try {
        listener_->open().wait();
        return;
      } catch (const std::exception&) {
        listener_.reset();
      }
    }
    throw std::runtime_error("no free port for the test server");
  }
  ~TestServer() { listener_->close().wait(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  [[nodiscard]] std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  void handle(http_request& request) {
    Received r;
    r.method = request.method();
    r.uri = request.request_uri().to_string();
    for (const auto& [name, value] : request.headers()) r.headers[name] = value;
    r.body = request.extract_utf8string(true).get();
    {
      std::lock_guard lock(mutex_);
      received_.push_back(std::move(r));
    }
    handler_(request);
  }

  Handler handler_;
  int port_ = 0;
  std::unique_ptr<http_listener> listener_;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
};

void reply(http_request& request, int status, const std::string& body) {
  request.reply(static_cast<web::http::status_code>(status), body, "application/json").wait();
}

TEST(CpprestTransport, StatusBodyAndHeadersRoundTrip) {
  TestServer server([](http_request& r) { reply(r, 422, R"({"code":1004,"msg":"insufficient stock"})"); });
  auto transport = make_cpprest_transport();
  HttpRequest request{"PUT",
                      server.url() + "/a%2Fb/c?x=1%262&y=%E8%AE%A2",
                      {{"Authorization", "Bearer t"}, {"Content-Type", "application/json"}, {"X-Unicode", "ü"}},
                      R"({"orderNo":"ORD-1"})",
                      std::chrono::seconds(2)};
  auto response = transport->send(request);
  EXPECT_TRUE(response.error.empty()) << response.error;
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(response.body, R"({"code":1004,"msg":"insufficient stock"})");
  auto received = server.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].method, "PUT");
  EXPECT_EQ(received[0].uri, "/a%2Fb/c?x=1%262&y=%E8%AE%A2");
  EXPECT_EQ(received[0].headers["Authorization"], "Bearer t");
  EXPECT_EQ(received[0].headers["Content-Type"], "application/json");
  EXPECT_EQ(received[0].headers["X-Unicode"], "ü");
  EXPECT_EQ(received[0].body, R"({"orderNo":"ORD-1"})");
}

TEST(CpprestTransport, RenderedParticipantRequestArrivesAsRendered) {
  TestServer server([](http_request& r) { reply(r, 200, R"({"code":0})"); });
  ::setenv("ADAPTER_HTTP_TEST_URL", server.url().c_str(), 1);
  auto parsed = testing::parse_spec(R"(
base_url: "${ADAPTER_HTTP_TEST_URL}"
headers: {Authorization: "Bearer secret"}
actions:
  cancel:
    method: POST
    path: /api/stock/rollback/{{xid}}
    query: {sku: "{{branch.sku}}"}
    body: {orderNo: "{{xid}}", sku: "{{branch.sku}}", qty: "{{branch.qty}}"}
    outcomes:
      - {status: [200], json: {code: 0}, then: done}
)");
  ASSERT_TRUE(parsed->spec) << parsed->errors.to_string();
  Participant stock("stock", parsed->spec, std::shared_ptr<HttpTransport>(make_cpprest_transport()));
  auto txn = testing::make_txn("a/../b?x=1&\"}");
  auto branch = testing::make_branch({{"sku", "A 1&b=2"}, {"qty", 2}}, 1);
  auto result = stock.run(Decision::Cancel, txn, branch);
  EXPECT_EQ(result.outcome, Outcome::Done) << result.error;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.request_summary, "POST " + server.url() + "/api/stock/rollback/a%2F..%2Fb%3Fx%3D1%26%22%7D");
  auto received = server.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].uri, "/api/stock/rollback/a%2F..%2Fb%3Fx%3D1%26%22%7D?sku=A%201%26b%3D2");
  EXPECT_EQ(received[0].headers["Idempotency-Key"], "a%2F..%2Fb%3Fx%3D1%26%22%7D:1:cancel");
  EXPECT_EQ(received[0].headers["Authorization"], "Bearer secret");
  EXPECT_EQ(nlohmann::json::parse(received[0].body),
            nlohmann::json({{"orderNo", "a/../b?x=1&\"}"}, {"sku", "A 1&b=2"}, {"qty", 2}}));
}

TEST(CpprestTransport, TimeoutIsAnErrorWithinTheDeadline) {
  TestServer server([](http_request& r) { reply(r, 200, "fast"); });
  TestServer slow([](http_request& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    reply(r, 200, "late");
  });
  auto transport = make_cpprest_transport();
  auto started = std::chrono::steady_clock::now();
  auto response = transport->send({"GET", slow.url() + "/slow", {}, "", std::chrono::milliseconds(200)});
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error.find("timed out"), std::string::npos) << response.error;
  EXPECT_LT(took, std::chrono::milliseconds(1200)) << "the deadline must hold, not the server's pace";
  auto fine = transport->send({"GET", server.url() + "/fast", {}, "", std::chrono::seconds(2)});
  EXPECT_EQ(fine.status, 200) << fine.error;
}

TEST(CpprestTransport, SlowDrippingBodyHitsTheTotalDeadline) {
  TestServer server([](http_request& r) {
    concurrency::streams::producer_consumer_buffer<uint8_t> buffer;
    web::http::http_response response(web::http::status_codes::OK);
    response.set_body(concurrency::streams::istream(buffer));
    auto sent = r.reply(response);
    for (int i = 0; i < 30; ++i) {
      uint8_t byte = 'x';
      buffer.putc(byte).wait();
      buffer.sync().wait();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    buffer.close(std::ios_base::out).wait();
    sent.wait();
  });
  auto transport = make_cpprest_transport();
  auto started = std::chrono::steady_clock::now();
  auto response = transport->send({"GET", server.url() + "/drip", {}, "", std::chrono::milliseconds(400)});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1200));
  EXPECT_NE(response.error.find("timed out after 400ms"), std::string::npos) << response.error;
}

TEST(CpprestTransport, ConnectionRefusedIsAnError) {
  auto transport = make_cpprest_transport();
  auto response =
      transport->send({"POST", fmt::format("http://127.0.0.1:{}/x", free_port()), {}, "{}", std::chrono::seconds(2)});
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.error.find("connect"), std::string::npos) << response.error;
}

TEST(CpprestTransport, BigBodyIsCut) {
  const std::string big(3 * kMaxResponseBody, 'b');
  TestServer server([&big](http_request& r) { reply(r, 200, big); });
  auto transport = make_cpprest_transport();
  auto response = transport->send({"GET", server.url() + "/big", {}, "", std::chrono::seconds(5)});
  EXPECT_TRUE(response.error.empty()) << response.error;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body.size(), kMaxResponseBody);
  EXPECT_EQ(response.body, big.substr(0, kMaxResponseBody));
}

TEST(CpprestTransport, HeaderInjectionIsRefusedBeforeSending) {
  TestServer server([](http_request& r) { reply(r, 200, "{}"); });
  auto transport = make_cpprest_transport();
  for (auto header : std::vector<std::pair<std::string, std::string>>{
           {"X-A", "1\r\nX-Evil: 1"}, {"X-A\r\nX-Evil", "1"}, {"X-A", std::string("a\0b", 3)}}) {
    auto response = transport->send({"GET", server.url() + "/x", {header}, "", std::chrono::seconds(2)});
    EXPECT_EQ(response.status, 0);
    EXPECT_NE(response.error.find("control character"), std::string::npos) << response.error;
  }
  EXPECT_TRUE(server.received().empty());
}

TEST(CpprestTransport, MalformedUrlsAreErrors) {
  auto transport = make_cpprest_transport();
  for (const char* url : {"not a url", "ftp://127.0.0.1/x", "", "http://[::1/x"}) {
    auto response = transport->send({"GET", url, {}, "", std::chrono::seconds(1)});
    EXPECT_EQ(response.status, 0) << url;
    EXPECT_FALSE(response.error.empty()) << url;
  }
}

TEST(CpprestTransport, ConcurrentSendsShareTheClient) {
  TestServer server([](http_request& r) { reply(r, 200, R"({"code":0})"); });
  auto transport = make_cpprest_transport();
  std::vector<int> statuses(16, 0);
  {
    std::vector<std::jthread> workers;
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      workers.emplace_back([&, i] {
        statuses[i] =
            transport->send({"GET", fmt::format("{}/n/{}", server.url(), i), {}, "", std::chrono::seconds(5)}).status;
      });
    }
  }
  EXPECT_TRUE(std::all_of(statuses.begin(), statuses.end(), [](int s) { return s == 200; }));
  EXPECT_EQ(server.received().size(), statuses.size());
}

}  // namespace
}  // namespace compensatord::adapters
