// The metrics port as Prometheus and the kubelet see it: /metrics, /healthz and /readyz over real
// HTTP, and the probe answers themselves (health::answer_probe).
#include "metrics/metrics_server.hpp"
#include "common/http_client.hpp"
#include "health/health.hpp"
#include "metrics/metrics.hpp"
#include "support/child_process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace compensatord::metrics {
namespace {

using health::answer_probe;
using health::HealthCheck;

std::optional<std::string> passes() { return std::nullopt; }

TEST(AnswerProbe, PassesWhenEveryCheckPassesAndListsThemOnlyWhenVerbose) {
  const std::vector<HealthCheck> checks{{"database", passes}, {"migrations", passes}};
  const auto quiet = answer_probe("readyz", checks, false);
  EXPECT_TRUE(quiet.passed);
  EXPECT_EQ(quiet.body, "readyz check passed\n");
  EXPECT_EQ(answer_probe("readyz", checks, true).body, "[+]database ok\n[+]migrations ok\nreadyz check passed\n");
}

TEST(AnswerProbe, OneFailingCheckFailsTheProbeAndSaysWhy) {
  const std::vector<HealthCheck> checks{{"database", [] { return std::optional<std::string>("connection refused"); }},
                                        {"migrations", passes}};
  const auto answer = answer_probe("readyz", checks, true);
  EXPECT_FALSE(answer.passed);
  EXPECT_EQ(answer.body, "[-]database failed: connection refused\n[+]migrations ok\nreadyz check failed\n");
}

TEST(AnswerProbe, ACheckThatThrowsHasFailedWithItsMessage) {
  const std::vector<HealthCheck> checks{
      {"database", []() -> std::optional<std::string> { throw std::runtime_error("no connection to the server"); }}};
  const auto answer = answer_probe("readyz", checks, true);
  EXPECT_FALSE(answer.passed);
  EXPECT_EQ(answer.body, "[-]database failed: no connection to the server\nreadyz check failed\n");
}

TEST(AnswerProbe, AnInformationalCheckIsShownButNeverFailsTheProbe) {
  const std::vector<HealthCheck> checks{
      {"config", [] { return std::optional<std::string>("the reload at 10:00 was refused"); }, true}};
  const auto answer = answer_probe("readyz", checks, true);
  EXPECT_TRUE(answer.passed);
  EXPECT_EQ(answer.body, "[!]config: the reload at 10:00 was refused\nreadyz check passed\n");
}

class MetricsPort : public ::testing::Test {
 protected:
  std::string listen = fmt::format("127.0.0.1:{}", testing::free_port());
  Metrics metrics{"9.8.7"};
  std::atomic<bool> database_up{true};
  health::HealthChecks checks{
      .liveness = {{"reconcile_loop", passes}},
      .readiness = {{"database",
                     [this]() -> std::optional<std::string> {
                       if (database_up) return std::nullopt;
                       return "connection refused";
                     }}},
  };
  demo::HttpClient client{"http://" + listen, std::chrono::seconds(5)};
};

TEST_F(MetricsPort, ServesMetricsAndTheProbesWithoutAToken) {
  MetricsServer server(listen, metrics, checks);
  const auto scrape = client.get("/metrics");
  ASSERT_EQ(scrape.status, 200) << scrape.error;
  EXPECT_NE(scrape.body.find("compensatord_build_info{version=\"9.8.7\"} 1"), std::string::npos) << scrape.body;

  EXPECT_EQ(client.get("/healthz").status, 200);
  const auto ready = client.get("/readyz?verbose");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "[+]database ok\nreadyz check passed\n");

  database_up = false;
  const auto unready = client.get("/readyz?verbose");
  EXPECT_EQ(unready.status, 503);
  EXPECT_EQ(unready.body, "[-]database failed: connection refused\nreadyz check failed\n");
  EXPECT_EQ(client.get("/healthz").status, 200) << "readiness and liveness are separate checks";
}

TEST_F(MetricsPort, AnswersNothingElse) {
  MetricsServer server(listen, metrics, checks);
  EXPECT_EQ(client.get("/v1/transactions").status, 404);
  EXPECT_EQ(client.get("/").status, 404);
}

TEST_F(MetricsPort, AnAddressInUseIsAnErrorNamingTheKey) {
  MetricsServer first(listen, metrics, checks);
  try {
    MetricsServer second(listen, metrics, checks);
    FAIL() << "a second server listened on " << listen;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.listen " + listen), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace compensatord::metrics
