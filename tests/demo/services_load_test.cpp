// legacy-services as a separate process under many concurrent connections, driven by plain POSIX
// sockets (cpprestsdk's client would share the pool under test). Every other test stands on this
// service, so it must keep answering however many calls are held by its latency knob or by
// callers that send their bodies slowly.

#include "support/child_process.hpp"
#include "support/work_dir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kConnections = 200;

// One HTTP/1.1 exchange on a connection of its own, sent in parts with a pause between them.
// Socket timeouts bound every read and write, so a service that stops answering fails the test
// instead of hanging it.
struct Exchange {
  int status = 0;  // 0: no complete answer
  std::string body;
  Clock::time_point sent;      // when the last byte of the request went out
  Clock::time_point answered;  // when the whole answer was in
};

class Socket {
 public:
  explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) return;
    const timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool send_all(std::string_view bytes) {
    while (connected_ && !bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return connected_;
  }

  // Reads one answer with a Content-Length body; nullopt on a timeout or a closed connection.
  std::optional<std::pair<int, std::string>> read_answer() {
    std::string in;
    std::size_t header_end = std::string::npos;
    std::size_t length = 0;
    char buffer[4096];
    while (header_end == std::string::npos || in.size() < header_end + 4 + length) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return std::nullopt;
      in.append(buffer, static_cast<std::size_t>(n));
      if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != std::string::npos) {
        length = content_length(in.substr(0, header_end));
      }
    }
    if (in.size() < 12) return std::nullopt;
    return std::make_pair(std::stoi(in.substr(9, 3)), in.substr(header_end + 4, length));
  }

 private:
  static std::size_t content_length(std::string headers) {
    std::transform(headers.begin(), headers.end(), headers.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto at = headers.find("content-length:");
    return at == std::string::npos ? 0 : std::stoul(headers.substr(at + 15));
  }

  int fd_;
  bool connected_ = false;
};

std::string request_text(const std::string& method, const std::string& path, const std::string& body) {
  return fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}", method,
      path, body.size(), body);
}

// Sends `request` cut at `cut` bytes, pausing `pause` between the two parts.
Exchange send_request(int port, const std::string& request, std::size_t cut = std::string::npos,
                      std::chrono::milliseconds pause = 0ms) {
  Exchange result;
  Socket socket(port);
  const std::string_view text(request);
  const std::size_t first = std::min(cut, text.size());
  if (!socket.send_all(text.substr(0, first))) return result;
  if (first < text.size()) {
    std::this_thread::sleep_for(pause);
    if (!socket.send_all(text.substr(first))) return result;
  }
  result.sent = Clock::now();
  if (auto answer = socket.read_answer()) {
    result.answered = Clock::now();
    std::tie(result.status, result.body) = *answer;
  }
  return result;
}

int code_of(const Exchange& e) {
  const auto body = nlohmann::json::parse(e.body, nullptr, false);
  return body.is_object() && body.contains("code") && body["code"].is_number_integer() ? body["code"].get<int>() : -1;
}

std::string lock_body(int i) {
  return nlohmann::json{{"orderNo", fmt::format("LOAD-{}", i)}, {"sku", "SKU-1"}, {"qty", 1}}.dump();
}

// Runs `kConnections` exchanges at once, one thread each, and returns them in order.
template <typename Make>
std::vector<Exchange> all_at_once(Make make) {
  std::vector<Exchange> results(kConnections);
  std::vector<std::thread> threads;
  threads.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) threads.emplace_back([&results, &make, i] { results[i] = make(i); });
  for (auto& thread : threads) thread.join();
  return results;
}

class ServicesUnderLoad : public ::testing::Test {
 protected:
  void start(const std::string& knobs) {
    port_ = free_port();
    services_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{LEGACY_SERVICES_BIN, "--listen", fmt::format("127.0.0.1:{}", port_), "--skus", "1",
                                 "--stock-per-sku", "100000", "--knobs", knobs},
        work_.file("legacy-services.log"));
    for (int i = 0; i < 200; ++i) {
      if (healthz().status == 200) return;
      ASSERT_TRUE(services_->running()) << services_->log();
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "legacy-services did not answer: " << services_->log();
  }

  Exchange healthz() { return send_request(port_, request_text("GET", "/healthz", "")); }

  // How long a fresh GET /healthz takes, from a thread of its own.
  std::chrono::milliseconds healthz_time() {
    const auto begin = Clock::now();
    const auto reply = healthz();
    EXPECT_EQ(reply.status, 200);
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
  }

  long long locked() {
    const auto reply = send_request(port_, request_text("GET", "/admin/totals", ""));
    const auto totals = nlohmann::json::parse(reply.body, nullptr, false);
    return totals.is_object() ? totals["stock"]["locked"].get<long long>() : -1;
  }

  WorkDir work_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> services_;
};

TEST_F(ServicesUnderLoad, TwoHundredCallsHeldByTheLatencyKnobAreAllAnsweredTogether) {
  start(R"({"stock":{"latency_ms":1000}})");
  const auto begin = Clock::now();
  std::chrono::milliseconds healthz_while_held{};
  std::thread prober([&] {
    std::this_thread::sleep_for(500ms);  // every call is in flight and held by its latency
    healthz_while_held = healthz_time();
  });
  const auto results =
      all_at_once([&](int i) { return send_request(port_, request_text("POST", "/api/stock/lock", lock_body(i))); });
  prober.join();

  auto last_sent = Clock::time_point::min();
  auto first_answered = Clock::time_point::max();
  auto last_answered = Clock::time_point::min();
  for (const auto& r : results) {
    ASSERT_EQ(r.status, 200) << r.body << "\n" << services_->log();
    EXPECT_EQ(code_of(r), 0) << r.body;
    last_sent = std::max(last_sent, r.sent);
    first_answered = std::min(first_answered, r.answered);
    last_answered = std::max(last_answered, r.answered);
  }
  // All 200 were in flight at once, and their delays ran side by side: 40 pool threads sleeping
  // them in turn would have taken 5 s.
  EXPECT_LT(last_sent, first_answered);
  EXPECT_LT(last_answered - begin, 3s);
  EXPECT_LT(healthz_while_held, 500ms);
  EXPECT_LT(healthz_time(), 500ms);
  EXPECT_EQ(locked(), kConnections);
}

TEST_F(ServicesUnderLoad, TwoHundredSlowBodiesDoNotStopTheService) {
  start("{}");
  std::chrono::milliseconds healthz_while_stalled{};
  std::thread prober([&] {
    std::this_thread::sleep_for(300ms);  // every request has sent its headers and half its body
    healthz_while_stalled = healthz_time();
  });
  const auto results = all_at_once([&](int i) {
    const auto request = request_text("POST", "/api/stock/lock", lock_body(i));
    return send_request(port_, request, request.size() - lock_body(i).size() / 2, 1000ms);
  });
  prober.join();

  for (const auto& r : results) {
    ASSERT_EQ(r.status, 200) << r.body << "\n" << services_->log();
    EXPECT_EQ(code_of(r), 0) << r.body;
  }
  EXPECT_LT(healthz_while_stalled, 500ms);
  EXPECT_LT(healthz_time(), 500ms);
  EXPECT_EQ(locked(), kConnections);
}

}  // namespace
}  // namespace compensatord::testing
