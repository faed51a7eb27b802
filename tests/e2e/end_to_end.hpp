#pragma once
// One end-to-end world shared by the e2e tests: a fresh database (the harness's throwaway
// PostgreSQL), legacy-services over real HTTP, and helpers to configure and start compensatord.

#include "support/child_process.hpp"
#include "support/legacy_services.hpp"
#include "support/test_database.hpp"
#include "support/work_dir.hpp"

#include "common/http_client.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace compensatord::testing {

using namespace std::chrono_literals;

// One end-to-end world: a fresh database, legacy-services, and helpers to start compensatord.
// The /v1 API tokens every write_config carries.
inline constexpr const char* kReadToken = "e2e-read-token-0123456789";
inline constexpr const char* kAdminToken = "e2e-admin-token-0123456789";

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    services_url = fmt::format("http://127.0.0.1:{}", free_port());
    daemon_port = free_port();
    metrics_port = free_port();
  }

  void start_services(const std::vector<std::string>& extra = {}) {
    services = start_legacy_services(LEGACY_SERVICES_BIN, services_url.substr(7), db.dsn(),
                                     work.file("legacy-services.log"), extra);
    wait_for_http(services_url + "/healthz", *services);
  }

  void wait_for_http(const std::string& url, ChildProcess& process) {
    demo::HttpClient client(url.substr(0, url.find('/', 7)), 1s);
    for (int i = 0; i < 200; ++i) {
      if (client.get(url.substr(url.find('/', 7))).status == 200) return;
      ASSERT_TRUE(process.running()) << process.log();
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << url << " did not answer: " << process.log();
  }

  // The daemon's probe (/healthz or /readyz, on its metrics port) for a config written with daemon_port.
  std::string probe_url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", metrics_port, path);
  }

  // config/demo.yaml with the given reconciler settings and listen port, written to a file. The
  // daemon on daemon_port has its metrics and probes on metrics_port; any other on a free port.
  std::string write_config(const std::string& name, int batch_size, int workers, int listen_port,
                           const std::string& replica, const std::string& lease = "10s") {
    YAML::Node config = YAML::LoadFile(DEMO_CONFIG);
    config["replica_id"] = replica;
    config["reconciler"]["batch_size"] = batch_size;
    config["reconciler"]["workers"] = workers;
    config["http"]["listen"] = fmt::format("127.0.0.1:{}", listen_port);
    config["metrics"]["listen"] = fmt::format("127.0.0.1:{}", listen_port == daemon_port ? metrics_port : free_port());
    config["kinds"]["order"]["timeout"] = "500ms";
    config["reconciler"]["lease"] = lease;
    // Short timeouts, so that short leases pass the lease bound (check + 2 x call + 1 s).
    config["kinds"]["order"]["check"]["sql"]["timeout"] = "500ms";
    for (const char* participant : {"stock", "coupon"}) config["participants"][participant]["timeout"] = "1s";
    config["http"]["tokens"] =
        YAML::Load(fmt::format("[{{name: dashboards, scope: read, token: {}}}, "
                               "{{name: ops, scope: admin, token: {}}}]",
                               kReadToken, kAdminToken));
    // No broker runs unless a test starts one: that test adds sources.kafka back with its bootstrap.
    config.remove("sources");
    std::ofstream(work.file(name)) << YAML::Dump(config);
    return work.file(name);
  }

  // The daemon's /v1 API as a caller with the read or the admin token of write_config.
  demo::HttpClient api_client(const std::string& token, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return demo::HttpClient(fmt::format("http://127.0.0.1:{}", daemon_port), timeout,
                            {{"Authorization", "Bearer " + token}});
  }

  std::vector<std::string> env() const {
    return {"DEMO_DSN=" + db.dsn(), "DEMO_SERVICES_URL=" + services_url,
            fmt::format("DEMO_DAEMON_LISTEN=127.0.0.1:{}", daemon_port),
            fmt::format("DEMO_METRICS_LISTEN=127.0.0.1:{}", free_port()),
            // Only check-config reads the shipped demo.yaml's sources.kafka; it never connects.
            "DEMO_KAFKA_BROKERS=127.0.0.1:9092"};
  }

  void migrate(const std::string& config) {
    auto result = run_to_completion({COMPENSATORD_BIN, "migrate", "--config", config}, 60s, env());
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }

  long long count_in(const std::string& status) {
    return query_count("SELECT count(*) FROM compensatord.transactions WHERE status = '" + status + "'");
  }

  // legacy-services' stock answers every call with 403 (`refuse` true) or takes them again.
  void refuse_stock_calls(bool refuse) {
    ASSERT_EQ(demo::HttpClient(services_url)
                  .post("/admin/knobs", fmt::format(R"({{"stock": {{"reject_rate": {}}}}})", refuse ? 1.0 : 0.0))
                  .status,
              200);
  }

  // `orders` abandoned orders, parked by stock's refusals (403) under compensatord run on
  // `config`, which is returned running once all are parked. The refusals go on until the test
  // calls refuse_stock_calls(false).
  std::unique_ptr<ChildProcess> run_until_parked_by_refusals(const std::string& config, int orders) {
    start_services();
    migrate(config);
    place_abandoned_orders(orders);
    refuse_stock_calls(true);
    auto daemon = std::make_unique<ChildProcess>(std::vector<std::string>{COMPENSATORD_BIN, "run", "--config", config},
                                                 work.file("compensatord.log"), env());
    wait_for_http(probe_url("/readyz"), *daemon);
    for (int i = 0; i < 600 && count_in("PARKED") < orders; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(count_in("PARKED"), orders) << daemon->log();
    return daemon;
  }

  // `compensatord admin ARGS` against this test's daemon with `token`.
  RunResult admin_cli(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {COMPENSATORD_BIN, "admin"});
    return run_to_completion(
        args, 30s, {"COMPENSATORD_TOKEN=" + token, fmt::format("COMPENSATORD_URL=http://127.0.0.1:{}", daemon_port)});
  }

  long long query_count(const std::string& sql) {
    auto connection = db.connect();
    pqxx::nontransaction tx(connection);
    return tx.exec1(sql)[0].as<long long>();
  }

  // Transactions the order service began and whose stock it locked, then died before
  // creating the order: every one must be cancelled.
  void place_abandoned_orders(int count, const std::string& prefix = "ABANDONED") {
    demo::HttpClient stock(services_url);
    auto connection = db.connect();
    for (int i = 0; i < count; ++i) {
      const std::string xid = fmt::format("{}-{}", prefix, i);
      const std::string sku = fmt::format("SKU-{}", 1 + i % 5);
      pqxx::work tx(connection);
      tx.exec_params(
          "SELECT compensatord.begin_transaction($1, 'order', jsonb_build_array(jsonb_build_object("
          "'participant', 'stock', 'fields', jsonb_build_object('sku', $2::text, 'qty', 1))), interval '0 seconds')",
          xid, sku);
      tx.commit();
      auto reply = stock.post("/api/stock/lock", fmt::format(R"({{"orderNo":"{}","sku":"{}","qty":1}})", xid, sku));
      ASSERT_EQ(reply.status, 200) << reply.body;
    }
  }

  nlohmann::json totals() {
    demo::HttpClient client(services_url);
    return nlohmann::json::parse(client.get("/admin/totals").body);
  }

  // Rollback calls the stock service received, over all orders.
  long long rollbacks_received() {
    long long calls = 0;
    const nlohmann::json orders = totals()["stock"]["orders"];
    for (const auto& [order, record] : orders.items()) calls += record["rollbacks"].get<int>();
    return calls;
  }

  WorkDir work;
  TestDatabase db;
  std::string services_url;
  int daemon_port = 0;
  int metrics_port = 0;
  std::unique_ptr<ChildProcess> services;
};

}  // namespace compensatord::testing
