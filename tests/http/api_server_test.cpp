// The /v1 API's intake under hostile clients, over real sockets: a client that sends its headers
// and then stalls must not hold any of the API's few workers.
#include "http/api_server.hpp"
#include "admin/admin_client.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "support/child_process.hpp"
#include "support/test_database.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace compensatord::http {
namespace {

using namespace std::chrono_literals;

constexpr const char* kToken = "intake-test-token-0123456789";

// A connection that sent the headers of a POST with a body it never sends.
class StalledClient {
 public:
  explicit StalledClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const std::string headers = fmt::format(
        "POST /v1/transactions/ORD-1/retry HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"rea",
        kToken);
    connected_ =
        connected_ && ::send(fd_, headers.data(), headers.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(headers.size());
  }
  ~StalledClient() { ::close(fd_); }
  StalledClient(const StalledClient&) = delete;
  StalledClient& operator=(const StalledClient&) = delete;

  bool connected() const { return connected_; }

 private:
  int fd_;
  bool connected_ = false;
};

TEST(ApiIntake, ClientsThatStallMidBodyHoldNoWorker) {
  compensatord::testing::TestDatabase db;
  store::migrate(db.dsn());
  store::PgStore store(db.dsn(), store::PgStoreOptions{.pool_size = 1});
  const int port = compensatord::testing::free_port();
  ApiServer server(fmt::format("127.0.0.1:{}", port), {{"ops", ApiScope::Admin, kToken}}, std::nullopt, store, store);

  // More stalled clients than the API has workers.
  std::vector<std::unique_ptr<StalledClient>> stalled;
  for (int i = 0; i < 2 * kApiDatabaseConnections + 2; ++i) {
    stalled.push_back(std::make_unique<StalledClient>(port));
    ASSERT_TRUE(stalled.back()->connected());
  }
  auto transport = adapters::make_curl_transport({});
  admin::AdminClient client(fmt::format("http://127.0.0.1:{}", port), kToken, *transport, 5s);
  for (int i = 0; i < 5; ++i) {
    const auto answer = client.list({{"status", "PARKED"}});
    EXPECT_EQ(answer.status, 200) << answer.transport_error << answer.raw_body;
  }
  const auto unknown = client.act("ORD-1", "retry", {{"reason", "r"}});
  EXPECT_EQ(unknown.status, 404) << "a whole POST is still handled: " << unknown.raw_body;
}

}  // namespace
}  // namespace compensatord::http
