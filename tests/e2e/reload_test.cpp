// SIGHUP reloads the config of a running compensatord: a broken file is refused and the daemon
// goes on with the config it has, a good one changes an adapter without a restart.

#include "end_to_end.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;

// Polls `condition` until it holds or `bound` passes; the bounds are generous, the waits short.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds bound = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

class Reload : public EndToEnd {
 protected:
  long long cancelled(const std::string& prefix) {
    return query_count(fmt::format(
        "SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED' AND xid LIKE '{}-%'", prefix));
  }

  // The stock cancels of the transactions named `prefix`-N whose request went to a path ending
  // with `ending`.
  long long stock_cancels(const std::string& prefix, const std::string& ending) {
    return query_count(
        fmt::format("SELECT count(*) FROM compensatord.attempts WHERE action = 'cancel' AND xid LIKE '{}-%' AND "
                    "request_summary LIKE '%/api/stock/rollback/{}-_{}'",
                    prefix, prefix, ending));
  }

  void write(const std::string& path, const YAML::Node& config) {
    const std::string next = path + ".next";
    std::ofstream(next) << YAML::Dump(config);
    // As a ConfigMap update does: the daemon never reads a file half-written.
    std::filesystem::rename(next, path);
  }
};

TEST_F(Reload, SighupKeepsTheRunningConfigWhenTheFileIsBrokenAndAppliesAGoodOneWithoutARestart) {
  start_services();
  const std::string config = write_config("daemon.yaml", 20, 4, daemon_port, "reload-e2e");
  const YAML::Node original = YAML::LoadFile(config);
  demo::HttpClient metrics(fmt::format("http://{}", original["metrics"]["listen"].as<std::string>()));
  const auto metrics_show = [&](const std::string& line) {
    return metrics.get("/metrics").body.find(line + "\n") != std::string::npos;
  };
  migrate(config);
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  wait_for_http(probe_url("/readyz"), daemon);
  ASSERT_TRUE(eventually([&] { return metrics_show("compensatord_config_last_reload_success 1"); }));

  // A broken file: an invalid method, with the new path that must not be applied either.
  YAML::Node broken = YAML::Clone(original);
  broken["participants"]["stock"]["actions"]["cancel"]["method"] = "FETCH";
  broken["participants"]["stock"]["actions"]["cancel"]["path"] = "/api/stock/rollback/{{xid}}/";
  write(config, broken);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return metrics_show(R"(compensatord_config_reloads_total{result="error"} 1)"); }))
      << daemon.log();
  EXPECT_TRUE(metrics_show("compensatord_config_last_reload_success 0"));
  const auto ready = metrics.get("/readyz?verbose");
  EXPECT_EQ(ready.status, 200) << "the previous config keeps working: " << ready.body;
  EXPECT_NE(ready.body.find("[!]config: "), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("participants.stock.actions.cancel.method (line "), std::string::npos) << ready.body;
  EXPECT_NE(daemon.log().find("participants.stock.actions.cancel.method (line "), std::string::npos);

  place_abandoned_orders(3, "BROKEN");
  ASSERT_TRUE(eventually([&] { return cancelled("BROKEN") == 3; })) << daemon.log();
  EXPECT_EQ(stock_cancels("BROKEN", ""), 3) << "still the path the daemon started with";

  // A good file: the stock participant's cancel path gains a trailing '/' (the sample service
  // routes it the same), the level of the log changes, and a setting that needs a restart.
  YAML::Node good = YAML::Clone(original);
  good["database"]["lock_timeout"] = "4s";
  good["participants"]["stock"]["actions"]["cancel"]["path"] = "/api/stock/rollback/{{xid}}/";
  good["logging"]["level"] = "debug";
  write(config, good);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return metrics_show(R"(compensatord_config_reloads_total{result="ok"} 1)"); }))
      << daemon.log();
  EXPECT_TRUE(metrics_show("compensatord_config_last_reload_success 1"));
  const auto healed = metrics.get("/readyz?verbose");
  EXPECT_EQ(healed.status, 200);
  EXPECT_NE(healed.body.find("[+]config ok"), std::string::npos) << healed.body;
  EXPECT_NE(daemon.log().find("changed: participants.stock, logging.level"), std::string::npos) << daemon.log();
  EXPECT_NE(daemon.log().find("database.lock_timeout changed: takes effect after a restart"), std::string::npos);

  place_abandoned_orders(3, "AFTER");
  ASSERT_TRUE(eventually([&] { return cancelled("AFTER") == 3; })) << daemon.log();
  EXPECT_EQ(stock_cancels("AFTER", "/"), 3) << "the reloaded path";
  EXPECT_EQ(stock_cancels("AFTER", ""), 0);
  EXPECT_EQ(totals()["stock"]["locked"], 0);

  EXPECT_TRUE(daemon.running()) << "no restart: the same process did all of it";
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
}

}  // namespace
}  // namespace compensatord::testing
