// dashboards/compensatord.json: a datasource variable every panel uses, queries that promtool
// parses, and only metrics that compensatord exports.

#include "metrics/metrics.hpp"
#include "support/child_process.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;

nlohmann::json dashboard() {
  std::ifstream file(DASHBOARD_JSON);
  return nlohmann::json::parse(file);
}

std::vector<std::string> queries(const nlohmann::json& board) {
  std::vector<std::string> exprs;
  for (const auto& panel : board.at("panels")) {
    for (const auto& target : panel.at("targets")) exprs.push_back(target.at("expr").get<std::string>());
  }
  return exprs;
}

// Grafana's own variables are not PromQL; promtool gets a plain range in their place.
std::string as_promql(std::string expr) { return std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "5m"); }

TEST(Dashboard, EveryPanelUsesTheDatasourceVariable) {
  const auto board = dashboard();
  bool has_variable = false;
  for (const auto& variable : board.at("templating").at("list")) {
    has_variable |= variable.at("name") == "datasource" && variable.at("type") == "datasource";
  }
  EXPECT_TRUE(has_variable);
  ASSERT_FALSE(board.at("panels").empty());
  for (const auto& panel : board.at("panels")) {
    EXPECT_EQ(panel.at("datasource").at("uid"), "${datasource}") << panel.at("title");
    EXPECT_FALSE(panel.at("targets").empty()) << panel.at("title");
  }
}

TEST(Dashboard, EveryQueryParsesAndNamesOnlyExportedMetrics) {
  metrics::Metrics exported("test");
  exported.declare_participant("stock");
  exported.declare_kafka();               // the Kafka panels read series that exist where Kafka is configured
  exported.declare_legacy_log("orders");  // and the legacy log panels, where a source is configured
  const std::string exposition = exported.text();

  const auto rules_path = std::filesystem::temp_directory_path() / fmt::format("dashboard-rules-{}.yaml", ::getpid());
  std::ofstream rules(rules_path);
  rules << "groups:\n  - name: dashboard\n    rules:\n";
  const std::regex metric_name(R"(compensatord_[a-z_]+)");
  int n = 0;
  for (const auto& expr : queries(dashboard())) {
    rules << fmt::format("      - record: dashboard:query{}\n        expr: {}\n", n++,
                         nlohmann::json(as_promql(expr)).dump());
    for (std::sregex_iterator it(expr.begin(), expr.end(), metric_name), end; it != end; ++it) {
      const std::string name = std::regex_replace(it->str(), std::regex("_(bucket|count|sum)$"), "");
      EXPECT_NE(exposition.find("# TYPE " + name + " "), std::string::npos) << name << " is not exported: " << expr;
    }
  }
  rules.close();
  auto checked = run_to_completion({PROMTOOL, "check", "rules", rules_path.string()}, 30s);
  std::filesystem::remove(rules_path);
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
}

}  // namespace
}  // namespace compensatord::testing
