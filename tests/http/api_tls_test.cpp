// The /v1 API over TLS (http.tls) with real certificates made by the openssl tool, called by the
// admin client over curl: a renewed certificate is served without a restart, broken files never
// replace a working pair, and a bad pair at start is an error naming the file.
#include "admin/admin_client.hpp"
#include "http/api_server.hpp"
#include "http/tls_certificate.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "support/child_process.hpp"
#include "support/test_database.hpp"
#include "support/work_dir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace compensatord::http {
namespace {

using namespace std::chrono_literals;
using compensatord::testing::free_port;
using compensatord::testing::run_to_completion;

constexpr const char* kToken = "tls-test-token-0123456789";

class ApiTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::migrate(db.dsn());
    for (const char* name : {"first", "second"}) make_certificate(name);
  }

  // name.crt and name.key: a self-signed certificate for 127.0.0.1 and localhost.
  void make_certificate(const std::string& name) {
    const auto made =
        run_to_completion({OPENSSL_TOOL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                           "-days", "2", "-subj", "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                           "-keyout", work.file(name + ".key"), "-out", work.file(name + ".crt")},
                          30s);
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }

  // The files the server reads: a copy of `name`'s pair, the key first (as a rotation may do it).
  void serve(const std::string& name) {
    for (const char* ext : {".key", ".crt"}) {
      std::filesystem::copy_file(work.file(name + ext), work.file(std::string("live") + ext),
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }

  ApiTls live_files() const { return {work.file("live.crt"), work.file("live.key"), 50ms}; }

  std::unique_ptr<ApiServer> start() {
    return std::make_unique<ApiServer>(fmt::format("127.0.0.1:{}", port),
                                       std::vector<ApiToken>{{"ops", ApiScope::Admin, kToken}}, live_files(), store,
                                       store);
  }

  // The status of an authenticated list over https, trusting only `ca`'s certificate; 0 when no
  // HTTP answer came (the handshake failed).
  int list_status(const std::string& ca, const std::string& scheme = "https") {
    auto transport = adapters::make_curl_transport({.verify_tls = true, .ca_file = work.file(ca + ".crt")});
    admin::AdminClient client(fmt::format("{}://127.0.0.1:{}", scheme, port), kToken, *transport, 5s);
    return client.list({}).status;
  }

  static bool eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 200; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return condition();
  }

  compensatord::testing::WorkDir work;
  compensatord::testing::TestDatabase db;
  store::PgStore store{db.dsn(), store::PgStoreOptions{.pool_size = 1}};
  int port = free_port();
};

TEST_F(ApiTlsTest, ARenewedCertificateIsServedFromTheNextHandshakeWithoutARestart) {
  serve("first");
  auto server = start();
  EXPECT_EQ(list_status("first"), 200);
  EXPECT_EQ(list_status("second"), 0) << "a client that trusts another certificate refuses the handshake";
  EXPECT_NE(list_status("first", "http"), 200) << "plain HTTP is not served on a TLS port";

  serve("second");
  EXPECT_TRUE(eventually([&] { return list_status("second") == 200; }));
  EXPECT_EQ(list_status("first"), 0) << "the old certificate is no longer presented";
  EXPECT_FALSE(server->tls_failure().has_value()) << *server->tls_failure();
}

TEST_F(ApiTlsTest, BrokenFilesNeverReplaceTheWorkingPairAndTheReasonIsKept) {
  serve("first");
  auto server = start();
  ASSERT_EQ(list_status("first"), 200);
  std::ofstream(work.file("live.key"), std::ios::trunc) << "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n";
  ASSERT_TRUE(eventually([&] { return server->tls_failure().has_value(); }));
  EXPECT_NE(server->tls_failure()->find("http.tls.key_file " + work.file("live.key")), std::string::npos)
      << *server->tls_failure();
  EXPECT_EQ(list_status("first"), 200) << "the previous pair is still served";

  std::filesystem::copy_file(work.file("second.key"), work.file("live.key"),
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(eventually([&] {
    return server->tls_failure().has_value() && server->tls_failure()->find("is not the key of") != std::string::npos;
  })) << server->tls_failure().value_or("");
  EXPECT_EQ(list_status("first"), 200) << "a key of another certificate is refused too";

  serve("second");
  EXPECT_TRUE(eventually([&] { return list_status("second") == 200; }));
  EXPECT_FALSE(server->tls_failure().has_value()) << "a good pair clears the reason";
}

TEST_F(ApiTlsTest, ABadPairAtStartIsAnErrorNamingTheFile) {
  const auto refusal = [](const ApiTls& files) {
    try {
      TlsCertificate certificate(files);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refusal({work.file("first.crt"), work.file("first.key")}), "accepted");
  const std::string missing = work.file("missing.crt");
  EXPECT_NE(refusal({missing, work.file("first.key")}).find("http.tls.cert_file " + missing + ": No such file"),
            std::string::npos)
      << refusal({missing, work.file("first.key")});
  EXPECT_NE(refusal({work.file("first.key"), work.file("first.key")}).find("not a PEM certificate"), std::string::npos);
  EXPECT_NE(refusal({work.file("first.crt"), work.file("first.crt")}).find("not an unencrypted PEM private key"),
            std::string::npos);
  EXPECT_NE(refusal({work.file("first.crt"), work.file("second.key")}).find("is not the key of http.tls.cert_file"),
            std::string::npos);

  const auto encrypted = run_to_completion({OPENSSL_TOOL, "pkey", "-in", work.file("first.key"), "-aes256", "-passout",
                                            "pass:secret", "-out", work.file("encrypted.key")},
                                           30s);
  ASSERT_EQ(encrypted.exit_code, 0) << encrypted.output;
  EXPECT_NE(refusal({work.file("first.crt"), work.file("encrypted.key")}).find("not an unencrypted PEM private key"),
            std::string::npos)
      << "never prompts for a passphrase";
}

}  // namespace
}  // namespace compensatord::http
