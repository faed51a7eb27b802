// compensatord as a process, watched the way operators and Kubernetes watch it: /metrics
// (linted by promtool), /healthz while the loop is wedged, /readyz while its database stops
// and restarts, and its log lines.

#include "support/child_process.hpp"
#include "support/legacy_services.hpp"
#include "support/test_database.hpp"
#include "support/work_dir.hpp"

#include "common/http_client.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The value of the sample `series` (name and labels exactly as exposed), or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

std::string percent_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

class Observability : public ::testing::Test {
 protected:
  void SetUp() override {
    services_url = fmt::format("http://127.0.0.1:{}", free_port());
    daemon_listen = fmt::format("127.0.0.1:{}", free_port());
    metrics_listen = fmt::format("127.0.0.1:{}", free_port());
  }

  void start_services(const std::vector<std::string>& extra = {}) {
    services = start_legacy_services(LEGACY_SERVICES_BIN, services_url.substr(7), db.dsn(),
                                     work.file("legacy-services.log"), extra);
    wait_for_status("http://" + services_url.substr(7), "/healthz", 200, *services);
  }

  void wait_for_status(const std::string& base, const std::string& path, int status, ChildProcess& process) {
    demo::HttpClient client(base, 1s);
    ASSERT_TRUE(eventually([&] { return client.get(path).status == status || !process.running(); }, 20s))
        << base << path << " did not answer " << status << ": " << process.log();
    ASSERT_TRUE(process.running()) << process.log();
  }

  // config/demo.yaml with this test's addresses and `tweak` applied, written to a file.
  std::string write_config(const std::function<void(YAML::Node&)>& tweak = {}) {
    YAML::Node config = YAML::LoadFile(DEMO_CONFIG);
    config["http"]["listen"] = daemon_listen;
    config["metrics"]["listen"] = metrics_listen;
    config["metrics"]["refresh_interval"] = "200ms";
    config["kinds"]["order"]["timeout"] = "500ms";
    config.remove("sources");  // no Kafka broker runs in these tests
    if (tweak) tweak(config);
    const std::string path = work.file("compensatord.yaml");
    std::ofstream(path) << YAML::Dump(config);
    return path;
  }

  std::vector<std::string> env(const std::string& dsn) const {
    return {"DEMO_DSN=" + dsn, "DEMO_SERVICES_URL=" + services_url, "DEMO_DAEMON_LISTEN=" + daemon_listen};
  }

  std::unique_ptr<ChildProcess> start_daemon(const std::string& config, const std::string& dsn,
                                             std::vector<std::string> extra_env = {}) {
    auto environment = env(dsn);
    environment.insert(environment.end(), extra_env.begin(), extra_env.end());
    auto daemon = std::make_unique<ChildProcess>(std::vector<std::string>{COMPENSATORD_BIN, "run", "--config", config},
                                                 work.file("compensatord.log"), environment);
    wait_for_status("http://" + metrics_listen, "/healthz", 200, *daemon);
    return daemon;
  }

  // Transactions the order service began and then died before locking anything: due at once.
  void begin_abandoned(int count) {
    auto connection = db.connect();
    pqxx::work tx(connection);
    for (int i = 0; i < count; ++i) {
      tx.exec_params(
          "SELECT compensatord.begin_transaction($1, 'order', jsonb_build_array(jsonb_build_object("
          "'participant', 'stock', 'fields', jsonb_build_object('sku', 'SKU-1', 'qty', 1))), interval '0 seconds')",
          fmt::format("ABANDONED-{}", i));
    }
    tx.commit();
  }

  std::string scrape() {
    demo::HttpClient client("http://" + metrics_listen, 2s);
    auto reply = client.get("/metrics");
    EXPECT_EQ(reply.status, 200) << reply.error;
    return reply.body;
  }

  WorkDir work;
  TestDatabase db;
  std::string services_url;
  std::string daemon_listen;
  std::string metrics_listen;
  std::unique_ptr<ChildProcess> services;
};

TEST_F(Observability, MetricsOfADaemonProcessingTransactionsPassPromtool) {
  start_services({"--fail-rate", "0.1"});
  const std::string config = write_config();
  auto migrate = run_to_completion({COMPENSATORD_BIN, "migrate", "--config", config}, 60s, env(db.dsn()));
  ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
  auto daemon = start_daemon(config, db.dsn());

  auto traffic = run_to_completion(
      {DEMO_TRAFFIC_BIN, "--dsn", db.dsn(), "--services-url", services_url, "--orders", "60", "--die-rate", "0.5",
       "--concurrency", "4", "--skus", "5", "--txn-timeout-ms", "500", "--wait-for-convergence", "--timeout", "60"},
      90s);
  ASSERT_EQ(traffic.exit_code, 0) << traffic.output << daemon->log();

  std::string text;
  ASSERT_TRUE(eventually(
      [&] {
        text = scrape();
        // The gauges refresh on an interval: wait for a refresh after convergence.
        return sample(text, R"(compensatord_transactions{status="CANCELLED"})") > 0 &&
               sample(text, "compensatord_oldest_due_age_seconds") == 0;
      },
      10s))
      << text;
  const std::string exposition = work.file("metrics.txt");
  std::ofstream(exposition) << text;
  auto lint = run_to_completion({"/bin/sh", "-c", fmt::format("promtool check metrics < '{}'", exposition)}, 30s);
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "") << "promtool reported problems";

  EXPECT_GT(sample(text, R"(compensatord_decisions_total{decision="cancel"})"), 0) << text;
  EXPECT_GT(sample(text, R"(compensatord_reconcile_total{result="finished"})"), 0) << text;
  EXPECT_GT(sample(text, R"(compensatord_reconcile_total{result="requeued"})"), 0) << "10% of calls fail: " << text;
  EXPECT_GT(sample(text, "compensatord_retries_total"), 0) << text;
  EXPECT_GT(sample(text, "compensatord_claims_total"), 0) << text;
  EXPECT_GT(sample(text, "compensatord_reconcile_time_seconds_count"), 0) << text;
  for (const char* stage : {"check", "decide", "calls", "write_back"}) {
    EXPECT_GT(sample(text, fmt::format(R"(compensatord_reconcile_stage_seconds_count{{stage="{}"}})", stage)), 0)
        << stage << ": " << text;
  }
  EXPECT_GT(sample(text, R"(compensatord_adapter_requests_total{action="cancel",outcome="done",participant="stock"})"),
            0)
      << text;
  EXPECT_GT(sample(text, R"(compensatord_adapter_request_duration_seconds_count{action="cancel",participant="stock"})"),
            0)
      << text;
  EXPECT_EQ(sample(text, "compensatord_oldest_due_age_seconds"), 0) << "converged: nothing is due";
  EXPECT_EQ(sample(text, R"(compensatord_build_info{version="0.1.0"})"), 1) << text;

  auto connection = db.connect();
  pqxx::nontransaction tx(connection);
  const auto xid = tx.exec1("SELECT xid FROM compensatord.transactions LIMIT 1")[0].as<std::string>();
  EXPECT_EQ(text.find(xid), std::string::npos) << "an xid in a label: " << xid;

  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for(30s), 0) << daemon->log();
}

// The issue's "done when": Prometheus scrapes a daemon that is processing transactions, and every
// query of the dashboard returns data through Prometheus's HTTP API.
TEST_F(Observability, EveryDashboardQueryReturnsDataFromARealPrometheus) {
  start_services({"--fail-rate", "0.1"});
  const std::string config = write_config();
  auto migrate = run_to_completion({COMPENSATORD_BIN, "migrate", "--config", config}, 60s, env(db.dsn()));
  ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
  auto daemon = start_daemon(config, db.dsn());

  const std::string prometheus_listen = fmt::format("127.0.0.1:{}", free_port());
  std::ofstream(work.file("prometheus.yml")) << fmt::format(
      "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n"
      "scrape_configs:\n  - job_name: compensatord\n    static_configs: [{{targets: ['{}']}}]\n",
      metrics_listen);
  ChildProcess prometheus({PROMETHEUS_BIN, "--config.file=" + work.file("prometheus.yml"),
                           "--storage.tsdb.path=" + work.file("tsdb"), "--web.listen-address=" + prometheus_listen},
                          work.file("prometheus.log"));
  wait_for_status("http://" + prometheus_listen, "/-/ready", 200, prometheus);

  auto traffic = run_to_completion(
      {DEMO_TRAFFIC_BIN, "--dsn", db.dsn(), "--services-url", services_url, "--orders", "60", "--die-rate", "0.5",
       "--concurrency", "2", "--skus", "5", "--txn-timeout-ms", "500", "--wait-for-convergence", "--timeout", "60"},
      90s);
  ASSERT_EQ(traffic.exit_code, 0) << traffic.output << daemon->log();

  std::ifstream board_file(DASHBOARD_JSON);
  const auto board = nlohmann::json::parse(board_file);
  demo::HttpClient api("http://" + prometheus_listen, 5s);
  for (const auto& panel : board.at("panels")) {
    for (const auto& target : panel.at("targets")) {
      const std::string expr =
          std::regex_replace(target.at("expr").get<std::string>(), std::regex(R"(\$__rate_interval)"), "1m");
      nlohmann::json answer;
      const bool has_data = eventually(
          [&] {
            auto reply = api.get("/api/v1/query?query=" + percent_encode(expr));
            answer = nlohmann::json::parse(reply.body, nullptr, false);
            return reply.status == 200 && answer.is_object() && !answer["data"]["result"].empty();
          },
          15s);
      EXPECT_TRUE(has_data) << "panel '" << panel.at("title").get<std::string>() << "' has no data: " << expr << "\n"
                            << answer.dump();
    }
  }
}

TEST_F(Observability, HealthzFailsWhileTheLoopIsWedged) {
  // Each cancel waits 1.5 s at the participant, far longer than the stall timeout.
  start_services({"--latency-ms", "1500"});
  const std::string config = write_config([](YAML::Node& c) {
    c["reconciler"]["workers"] = 1;
    c["reconciler"]["batch_size"] = 1;
    c["reconciler"]["stall_timeout"] = "300ms";
  });
  auto migrate = run_to_completion({COMPENSATORD_BIN, "migrate", "--config", config}, 60s, env(db.dsn()));
  ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
  auto daemon = start_daemon(config, db.dsn());
  demo::HttpClient client("http://" + metrics_listen, 2s);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(client.get("/healthz").status, 200) << "idle is not stuck";

  begin_abandoned(5);
  demo::HttpReply reply;
  ASSERT_TRUE(eventually(
      [&] {
        reply = client.get("/healthz?verbose");
        return reply.status == 503;
      },
      10s))
      << reply.body << daemon->log();
  EXPECT_NE(reply.body.find("[-]reconcile_loop failed"), std::string::npos) << reply.body;
  EXPECT_EQ(client.get("/readyz").status, 200) << "a wedged loop is a liveness problem, not readiness";
}

TEST_F(Observability, LogsAreJsonLinesAndNeverShowTheParticipantToken) {
  const std::string token = "s3cr3t-token-7f1c9a";
  start_services({"--fail-rate", "0.5"});
  const std::string config = write_config([](YAML::Node& c) {
    c["logging"]["level"] = "trace";
    c["logging"]["format"] = "json";
    c["participants"]["stock"]["headers"]["Authorization"] = "Bearer ${STOCK_TOKEN}";
  });
  auto with_token = env(db.dsn());
  with_token.push_back("STOCK_TOKEN=" + token);
  auto migrate = run_to_completion({COMPENSATORD_BIN, "migrate", "--config", config}, 60s, with_token);
  ASSERT_EQ(migrate.exit_code, 0) << migrate.output;
  auto daemon = start_daemon(config, db.dsn(), {"STOCK_TOKEN=" + token});
  begin_abandoned(10);
  auto connection = db.connect();
  ASSERT_TRUE(eventually(
      [&] {
        pqxx::nontransaction tx(connection);
        return tx.exec1("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'")[0].as<int>() == 10;
      },
      30s))
      << daemon->log();
  demo::HttpClient("http://" + metrics_listen).get("/readyz?verbose");
  daemon->signal(SIGTERM);
  ASSERT_EQ(daemon->wait_for(30s), 0) << daemon->log();

  const std::string log = daemon->log();
  EXPECT_EQ(log.find(token), std::string::npos) << "the token leaked into the log";
  std::istringstream lines(log);
  int with_xid = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(json.is_object()) << "not a JSON line: " << line;
    EXPECT_TRUE(json.contains("time") && json.contains("level") && json.contains("component") && json.contains("msg"))
        << line;
    with_xid += json.contains("xid") ? 1 : 0;
  }
  EXPECT_GE(with_xid, 10) << "each cancelled transaction logs a line naming its xid: " << log;
}

// A cluster of this test's own, so stopping it breaks no other test.
class OwnCluster {
 public:
  explicit OwnCluster(std::string dir) : dir_(std::move(dir)) {
    auto started = run_to_completion({THROWAWAY_PG, "start", dir_}, 60s);
    if (started.exit_code != 0) throw std::runtime_error("throwaway-pg start failed: " + started.output);
    dsn_ = read_file(dir_ + "/dsn");
    dsn_.erase(dsn_.find_last_not_of('\n') + 1);
    cluster_ = read_file(dir_ + "/cluster");
    cluster_.erase(cluster_.find_last_not_of('\n') + 1);
    port_ = dsn_.substr(dsn_.rfind(':') + 1, dsn_.rfind('/') - dsn_.rfind(':') - 1);
  }
  ~OwnCluster() { run_to_completion({THROWAWAY_PG, "stop", dir_}, 60s); }
  OwnCluster(const OwnCluster&) = delete;
  OwnCluster& operator=(const OwnCluster&) = delete;

  [[nodiscard]] const std::string& dsn() const { return dsn_; }
  RunResult stop() { return pg_ctl({"-m", "fast", "stop"}); }
  // The same port and socket directory as throwaway-pg.sh gave it.
  RunResult start() {
    return pg_ctl({"-l", cluster_ + "/postgres.log", "-o",
                   fmt::format("-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='{}'", port_, cluster_),
                   "start"});
  }

 private:
  RunResult pg_ctl(std::vector<std::string> args) {
    std::vector<std::string> argv;
    if (::geteuid() == 0) argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    argv.push_back(pg_bindir() + "/pg_ctl");
    argv.insert(argv.end(), {"-D", cluster_ + "/data", "-w", "-t", "30"});
    argv.insert(argv.end(), args.begin(), args.end());
    return run_to_completion(argv, 60s);
  }
  static std::string pg_bindir() {
    std::string newest;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql")) {
      if (fs::exists(entry.path() / "bin/pg_ctl") && entry.path().string() > newest) newest = entry.path().string();
    }
    return newest + "/bin";
  }

  std::string dir_;
  // Where throwaway-pg.sh put the data directory, socket and log (DIR/cluster names it).
  std::string cluster_;
  std::string dsn_;
  std::string port_;
};

// With the API port closed (http.listen: off), as the chart can run it: the probes need only the
// metrics port.
TEST_F(Observability, ReadyzFollowsTheDatabaseThroughAStopAndRestart) {
  OwnCluster cluster(work.file("pg"));
  const std::string config = write_config([](YAML::Node& c) { c["http"]["listen"] = "off"; });
  auto daemon = start_daemon(config, cluster.dsn());
  EXPECT_EQ(demo::HttpClient("http://" + daemon_listen, 1s).get("/v1/transactions").status, 0)
      << "http.listen: off opens no API port";
  demo::HttpClient client("http://" + metrics_listen, 5s);
  auto ready = client.get("/readyz?verbose");
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("[+]database ok"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("[+]migrations ok"), std::string::npos) << ready.body;

  auto stopped = cluster.stop();
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  demo::HttpReply reply;
  EXPECT_TRUE(eventually(
      [&] {
        reply = client.get("/readyz?verbose");
        return reply.status == 503;
      },
      10s))
      << reply.body;
  EXPECT_NE(reply.body.find("[-]database failed"), std::string::npos) << reply.body;
  EXPECT_EQ(client.get("/healthz").status, 200) << "a database outage is not a reason to restart";

  auto started = cluster.start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_TRUE(eventually([&] { return client.get("/readyz").status == 200; }, 15s)) << daemon->log();
}

}  // namespace
}  // namespace compensatord::testing
