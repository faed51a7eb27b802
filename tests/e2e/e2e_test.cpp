// compensatord as a process, against a real PostgreSQL (the harness's throwaway cluster), the
// sample legacy services over real HTTP, and the demo's traffic generator playing the order
// service. These tests assert participant state and the attempt trail, not logs.

#include "end_to_end.hpp"
#include "kafka/kafka_test_support.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace compensatord::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST_F(EndToEnd, CheckConfigNamesTheKeyPathAndLineAndExits2) {
  const std::string path = work.file("bad.yaml");
  std::ofstream(path) << "database:\n  dsn: postgresql://x\n"
                         "kinds:\n  order:\n    check: {sql: {dsn: postgresql://y, query: 'SELECT 1 WHERE $1 = $1'}}\n"
                         "participants:\n  stock:\n    base_url: http://stock\n    timeout: soon\n"
                         "    actions: {cancel: {method: POST, path: /x}}\n";
  auto result = run_to_completion({COMPENSATORD_BIN, "check-config", path}, 30s);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("participants.stock.timeout (line 9)"), std::string::npos) << result.output;
}

// tests/config/bad: one mistake per file, and on its last line the key path and line that
// check-config must name ("# expect: participants.stock.timeout (line 24)").
TEST(CheckConfig, EveryBadConfigIsRefusedNamingItsKeyAndLine) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(BAD_CONFIG_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    std::string expected;
    while (std::getline(in, line)) {
      if (line.rfind("# expect: ", 0) == 0) expected = line.substr(10);
    }
    ASSERT_FALSE(expected.empty()) << entry.path() << " has no '# expect: ' line";
    const auto result = run_to_completion({COMPENSATORD_BIN, "check-config", entry.path().string()}, 30s);
    EXPECT_EQ(result.exit_code, 2) << entry.path() << "\n" << result.output;
    EXPECT_NE(result.output.find("  " + expected + ": "), std::string::npos)
        << entry.path() << " should name " << expected << "\n"
        << result.output;
  }
  EXPECT_GE(files, 30);
}

TEST_F(EndToEnd, CheckConfigAcceptsTheShippedConfigs) {
  auto demo = run_to_completion({COMPENSATORD_BIN, "check-config", DEMO_CONFIG}, 30s, env());
  EXPECT_EQ(demo.exit_code, 0) << demo.output;
  auto example = run_to_completion({COMPENSATORD_BIN, "check-config", EXAMPLE_CONFIG}, 30s,
                                   {"PGPASSWORD=p", "ORDER_DB_PASSWORD=p", "STOCK_TOKEN=t", "LEGACY_DB_PASSWORD=p"});
  EXPECT_EQ(example.exit_code, 0) << example.output;
}

TEST_F(EndToEnd, HalfFinishedOrdersAreRepairedWhileParticipantsFail) {
  start_services({"--fail-rate", "0.04", "--lost-reply-rate", "0.03", "--odd-rate", "0.03"});
  const std::string config = write_config("daemon.yaml", 50, 8, daemon_port, "e2e");
  migrate(config);
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  wait_for_http(probe_url("/healthz"), daemon);

  auto traffic = run_to_completion(
      {DEMO_TRAFFIC_BIN, "--dsn", db.dsn(), "--services-url", services_url, "--orders", "200", "--die-rate", "0.4",
       "--concurrency", "4", "--skus", "5", "--txn-timeout-ms", "500", "--wait-for-convergence", "--timeout", "120"},
      180s);
  ASSERT_EQ(traffic.exit_code, 0) << traffic.output << daemon.log();

  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE status NOT IN ('CONFIRMED','CANCELLED')"),
            0);
  EXPECT_GT(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'"), 0);
  EXPECT_GT(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CONFIRMED'"), 0);
  // Lost replies and 5xx make compensatord call again, but a participant applies each action once.
  EXPECT_EQ(query_count("SELECT count(*) FROM (SELECT xid, branch_no, action FROM compensatord.attempts "
                        "WHERE outcome = 'done' GROUP BY 1, 2, 3 HAVING count(*) > 1) twice"),
            0);
  auto state = totals();
  EXPECT_EQ(state["stock"]["locked"], 0) << state.dump();
  EXPECT_EQ(state["coupon"]["locked"], 0) << state.dump();

  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
}

TEST_F(EndToEnd, TwoReplicasNeverDecideOrActTwice) {
  start_services();
  const std::string config_a = write_config("a.yaml", 7, 4, free_port(), "replica-a");
  const std::string config_b = write_config("b.yaml", 7, 4, free_port(), "replica-b");
  migrate(config_a);
  place_abandoned_orders(300);
  ASSERT_EQ(totals()["stock"]["locked"], 300);

  ChildProcess a({COMPENSATORD_BIN, "run", "--config", config_a, "--until-idle"}, work.file("a.log"), env());
  ChildProcess b({COMPENSATORD_BIN, "run", "--config", config_b, "--until-idle"}, work.file("b.log"), env());
  ASSERT_EQ(a.wait_for(120s), 0) << a.log();
  ASSERT_EQ(b.wait_for(120s), 0) << b.log();

  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'"), 300);
  EXPECT_EQ(query_count("SELECT count(DISTINCT decided_by) FROM compensatord.transactions"), 2)
      << "both replicas should have shared the backlog";
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.attempts WHERE action = 'check'"), 300);
  EXPECT_EQ(query_count("SELECT count(*) FROM (SELECT xid, branch_no FROM compensatord.attempts WHERE action = "
                        "'cancel' GROUP BY 1, 2 HAVING count(*) <> 1) not_once"),
            0);
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.attempts WHERE action = 'cancel' AND outcome = 'done'"),
            300);
  EXPECT_EQ(totals()["stock"]["locked"], 0);
}

TEST_F(EndToEnd, SigtermStopsClaimingReleasesWorkAndExitsZero) {
  start_services({"--latency-ms", "200"});
  const std::string config = write_config("daemon.yaml", 50, 2, daemon_port, "slow");
  migrate(config);
  place_abandoned_orders(60);
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  for (int i = 0; i < 200 && query_count("SELECT count(*) FROM compensatord.transactions WHERE status = "
                                         "'CANCELLED'") == 0;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  daemon.signal(SIGTERM);
  // An impatient operator: more signals while it drains change neither the drain nor the exit code.
  std::this_thread::sleep_for(100ms);
  daemon.signal(SIGTERM);
  daemon.signal(SIGHUP);
  EXPECT_EQ(daemon.wait_for(20s), 0) << daemon.log();
  const long long cancelled = query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'");
  EXPECT_GT(cancelled, 0);
  EXPECT_LT(cancelled, 60) << "SIGTERM came too late to test anything";
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE lease_owner IS NOT NULL"), 0)
      << "claimed work must be released on shutdown";

  // The next run picks up exactly where the last one stopped.
  auto rest = run_to_completion({COMPENSATORD_BIN, "run", "--config", config, "--until-idle"}, 120s, env());
  EXPECT_EQ(rest.exit_code, 0) << rest.output;
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'"), 60);
  EXPECT_EQ(totals()["stock"]["locked"], 0);
}

// Calls that outlast reconciler.shutdown_grace do not hold the exit back: the replica names what
// is still running and exits 0 within the grace; the transactions it had in flight keep their
// leases, their calls are in the trail, and once the leases expire another replica finishes them.
TEST_F(EndToEnd, CallsThatOutlastTheShutdownGraceAreLeftToTheLeaseAndTheExitIsNotHeldBack) {
  constexpr int kOrders = 4;
  start_services({"--latency-ms", "4000"});
  const std::string config = work.file("daemon.yaml");
  {
    YAML::Node yaml = YAML::LoadFile(write_config("daemon.yaml", 10, kOrders, daemon_port, "impatient", "12s"));
    yaml["reconciler"]["shutdown_grace"] = "300ms";
    for (const char* participant : {"stock", "coupon"}) yaml["participants"][participant]["timeout"] = "5s";
    std::ofstream(config) << YAML::Dump(yaml);
  }
  migrate(config);
  place_abandoned_orders(kOrders);
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  const auto calls_in_flight = [&] {
    return query_count("SELECT count(*) FROM compensatord.attempts WHERE outcome = 'started'");
  };
  for (int i = 0; i < 200 && calls_in_flight() == 0; ++i) std::this_thread::sleep_for(50ms);
  const long long in_flight = calls_in_flight();
  ASSERT_GT(in_flight, 0) << daemon.log();

  const auto signalled = std::chrono::steady_clock::now();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(10s), 0) << daemon.log();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 3s) << "the exit waited for the calls";
  EXPECT_NE(daemon.log().find("still running after reconciler.shutdown_grace"), std::string::npos) << daemon.log();
  EXPECT_NE(daemon.log().find("reconcile_loop"), std::string::npos) << daemon.log();
  EXPECT_GT(query_count("SELECT count(*) FROM compensatord.transactions WHERE lease_owner = 'impatient'"), 0)
      << "work in flight is left to its lease, not released under a call";

  // Once the leases expire, another replica takes the work over and finishes it.
  for (int i = 0; i < 300 && query_count("SELECT count(*) FROM compensatord.transactions WHERE lease_expires_at > "
                                         "now()") > 0;
       ++i) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(demo::HttpClient(services_url)
                .post("/admin/knobs", R"({"stock": {"latency_ms": 0}, "coupon": {"latency_ms": 0}})")
                .status,
            200);
  auto heir = run_to_completion(
      {COMPENSATORD_BIN, "run", "--config", write_config("b.yaml", 10, 4, free_port(), "heir"), "--until-idle"}, 120s,
      env());
  EXPECT_EQ(heir.exit_code, 0) << heir.output;
  EXPECT_EQ(count_in("CANCELLED"), kOrders) << heir.output;
  EXPECT_GE(query_count("SELECT count(*) FROM compensatord.attempts WHERE replica = 'impatient' AND outcome = "
                        "'started'"),
            in_flight)
      << "the calls the stopped replica had in flight stay in the trail, their answers unknown";
  EXPECT_EQ(totals()["stock"]["locked"], 0);
}

// A replica that starts while another one migrates waits for the migration lock; Kubernetes may
// stop it meanwhile (a rollout that moves on), and a SIGTERM must end it then, not a SIGKILL later.
TEST_F(EndToEnd, SigtermEndsAStartThatWaitsForAnotherReplicasMigration) {
  const std::string config = write_config("daemon.yaml", 50, 2, daemon_port, "waiting");
  migrate(config);
  auto holder = db.connect();
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_lock(x'636d706e73617464'::bigint)");
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(daemon.running()) << daemon.log();
  daemon.signal(SIGTERM);
  const auto exited = daemon.wait_for(5s);
  EXPECT_TRUE(exited.has_value()) << "still waiting for the migration lock after SIGTERM: " << daemon.log();
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_unlock_all()");
  if (!exited) daemon.wait_for(30s);
}

TEST_F(EndToEnd, AKilledReplicaLosesNothingAndItsLeasesAreTakenOver) {
  start_services({"--latency-ms", "100"});
  const std::string config_a = write_config("a.yaml", 50, 4, daemon_port, "doomed", "4s");
  const std::string config_b = write_config("b.yaml", 50, 4, free_port(), "survivor", "4s");
  migrate(config_a);
  place_abandoned_orders(80);
  ChildProcess doomed({COMPENSATORD_BIN, "run", "--config", config_a}, work.file("a.log"), env());
  const auto leased_by_doomed = [&] {
    return query_count(
        "SELECT count(*) FROM compensatord.transactions WHERE lease_owner = 'doomed' AND status NOT IN "
        "('CONFIRMED', 'CANCELLED')");
  };
  // Killed with work in hand, whatever the timing: a group-commit write-back clears the leases of
  // every worker at once, and a kill right after it would leave nothing leased. So the replica is
  // frozen first, given a moment for a statement already sent to finish, and killed only if it
  // still holds leases; else it is thawed and tried again.
  for (int i = 0; i < 3000 && query_count("SELECT count(*) FROM compensatord.transactions WHERE status = "
                                          "'CANCELLED'") < 5;
       ++i) {
    std::this_thread::sleep_for(20ms);
  }
  for (int tries = 0; tries < 50; ++tries) {
    doomed.signal(SIGSTOP);
    std::this_thread::sleep_for(200ms);
    if (leased_by_doomed() > 0) break;
    doomed.signal(SIGCONT);
    std::this_thread::sleep_for(30ms);
  }
  doomed.signal(SIGKILL);
  ASSERT_EQ(doomed.wait_for(10s), 128 + SIGKILL);
  const long long orphaned = leased_by_doomed();
  EXPECT_GT(orphaned, 0) << "the kill came too late to leave leased work behind";

  // The dead replica's leases hold its rows until they expire; then the survivor takes them over.
  std::this_thread::sleep_for(4500ms);
  auto survivor = run_to_completion({COMPENSATORD_BIN, "run", "--config", config_b, "--until-idle"}, 120s, env());
  EXPECT_EQ(survivor.exit_code, 0) << survivor.output;
  EXPECT_NE(survivor.output.find("taken over from an expired lease"), std::string::npos) << survivor.output;
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'"), 80);
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE lease_owner IS NOT NULL"), 0);
  EXPECT_EQ(totals()["stock"]["locked"], 0);
  // Every rollback the stock service received is in the trail: answered, or recorded as started
  // by the replica that died before the answer came.
  EXPECT_GE(query_count("SELECT count(*) FROM compensatord.attempts WHERE action = 'cancel'"), rollbacks_received());
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.attempts WHERE outcome = 'started' AND replica <> 'doomed'"),
            0)
      << "only the killed replica leaves calls without an answer";
}

TEST_F(EndToEnd, DelayedChecksFromKafkaRollBackAbandonedOrdersAndLeaveCreatedOnesConfirmed) {
  BrokerProcess broker(work, {"order-checks:2", "order-checks-dlq"});
  start_services();
  std::string config = write_config("daemon.yaml", 50, 4, daemon_port, "kafka");
  YAML::Node yaml = YAML::LoadFile(config);
  yaml["sources"]["kafka"]["brokers"] = broker.bootstrap();
  yaml["sources"]["kafka"]["topics"].push_back("order-checks");
  yaml["sources"]["kafka"]["dead_letter_topic"] = "order-checks-dlq";
  yaml["sources"]["kafka"]["min_delay"] = "500ms";
  yaml["sources"]["kafka"]["librdkafka"]["session.timeout.ms"] = "6000";
  std::ofstream(config) << YAML::Dump(yaml);
  migrate(config);

  // The seed flow: the check message goes out first, then stock is locked; half of the orders
  // get created, the other half die before that.
  demo::HttpClient stock(services_url);
  std::vector<Outgoing> messages;
  auto connection = db.connect();
  for (int i = 0; i < 40; ++i) {
    const std::string xid = fmt::format("KAFKA-{}", i);
    messages.push_back({"order-checks",
                        xid,
                        fmt::format(R"({{"xid":"{}","kind":"order","branches":[{{"participant":"stock",)"
                                    R"("fields":{{"sku":"SKU-1","qty":1}}}}]}})",
                                    xid),
                        {}});
    ASSERT_EQ(stock.post("/api/stock/lock", fmt::format(R"({{"orderNo":"{}","sku":"SKU-1","qty":1}})", xid)).status,
              200);
    if (i % 2 == 0) {
      pqxx::work tx(connection);
      tx.exec_params0("INSERT INTO demo_orders (order_no, sku, qty) VALUES ($1, 'SKU-1', 1)", xid);
      tx.commit();
    }
  }
  messages.push_back({"order-checks", std::nullopt, R"({"xid": "no kind", "branches": )", {}});
  ASSERT_EQ(produce_all(broker.bootstrap(), messages), "");

  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  wait_for_http(probe_url("/healthz"), daemon);
  for (int i = 0; i < 600 && query_count("SELECT count(*) FROM compensatord.transactions WHERE status IN "
                                         "('CONFIRMED', 'CANCELLED')") < 40;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'"), 20)
      << daemon.log();
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CONFIRMED'"), 20);
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.transactions WHERE source = 'kafka:order-checks'"), 40);
  auto state = totals();
  EXPECT_EQ(state["stock"]["locked"], 0) << state.dump();
  EXPECT_EQ(state["stock"]["sold"], 20) << state.dump();

  auto dead = read_topic(broker.bootstrap(), "order-checks-dlq", 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].headers["reason"], "malformed_json") << dead[0].value;

  demo::HttpClient probes(fmt::format("http://127.0.0.1:{}", metrics_port));
  auto ready = probes.get("/readyz?verbose");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("kafka"), std::string::npos) << ready.body;
  // The source reports as it goes: no refresh interval between the batch and its series.
  const std::string metrics = probes.get("/metrics").body;
  for (const char* line : {R"(compensatord_kafka_messages_total{result="ingested"} 40)",
                           R"(compensatord_kafka_messages_total{result="dead_lettered"} 1)",
                           "compensatord_kafka_connected 1"}) {
    EXPECT_NE(metrics.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << metrics;
  }
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
}

TEST_F(EndToEnd, TransactionApiShowsTheDecisionAndRefusesHostileXids) {
  start_services();
  const std::string config = write_config("daemon.yaml", 50, 4, daemon_port, "api");
  migrate(config);
  place_abandoned_orders(1);
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  wait_for_http(probe_url("/readyz"), daemon);
  demo::HttpClient api = api_client(kReadToken);
  nlohmann::json txn;
  for (int i = 0; i < 100; ++i) {
    auto reply = api.get("/v1/transactions/ABANDONED-0");
    ASSERT_EQ(reply.status, 200) << reply.body;
    txn = nlohmann::json::parse(reply.body);
    if (txn["status"] == "CANCELLED") break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(txn["status"], "CANCELLED") << txn.dump();
  EXPECT_EQ(txn["decision"], "cancel");
  EXPECT_EQ(txn["branches"][0]["status"], "done");

  EXPECT_EQ(api.get("/v1/transactions/nope%27%3B%20DROP%20TABLE%20x").status, 404);
  EXPECT_EQ(api.get("/v1/transactions/" + std::string(300, 'x')).status, 400);
  EXPECT_EQ(api.get("/v1/transactions/%ZZ").status, 400);
  EXPECT_EQ(api.get("/v1/transactions/ORD%00x").status, 400) << "NUL";
  EXPECT_EQ(api.get("/v1/transactions/%FF%FE").status, 400) << "not UTF-8";
  EXPECT_EQ(api.get("/v1/transactions/%C3%A9t%C3%A9").status, 404) << "UTF-8 is a fine xid";
  EXPECT_EQ(api.get("/nowhere").status, 404);
  EXPECT_EQ(api.get("/healthz").status, 404) << "the probes are on the metrics port, not the API's";
  EXPECT_EQ(demo::HttpClient(probe_url("")).get("/healthz").status, 200);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
}

// The operator's path from the "parked" alert back to finished work, through the API: a participant
// that refuses compensatord's calls (403) parks two transactions; an operator token lists them,
// retries one once the participant is fixed, and it finishes; the other is abandoned to a human and
// stays so. A read token may look but not act, no token gets nothing, and every action is audited
// and shown with the transaction's trail.
TEST_F(EndToEnd, AnOperatorListsRetriesAndAbandonsParkedTransactionsThroughTheApi) {
  const auto daemon = run_until_parked_by_refusals(write_config("daemon.yaml", 50, 4, daemon_port, "ops-e2e"), 2);
  ASSERT_FALSE(HasFailure());
  const auto status_of = [&](const std::string& xid) {
    auto connection = db.connect();
    pqxx::nontransaction tx(connection);
    return tx.exec_params1("SELECT status FROM compensatord.transactions WHERE xid = $1", xid)[0].as<std::string>();
  };

  demo::HttpClient anonymous(fmt::format("http://127.0.0.1:{}", daemon_port));
  demo::HttpClient reader = api_client(kReadToken);
  demo::HttpClient admin = api_client(kAdminToken);
  const auto no_token = anonymous.get("/v1/transactions?status=PARKED");
  EXPECT_EQ(no_token.status, 401);
  EXPECT_EQ(nlohmann::json::parse(no_token.body)["code"], "unauthenticated");
  EXPECT_EQ(api_client("e2e-wrong-token-0123456789").get("/v1/transactions/ABANDONED-0").status, 401);

  // The list, a page at a time.
  const auto first = reader.get("/v1/transactions?status=PARKED&limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  const auto first_page = nlohmann::json::parse(first.body);
  ASSERT_EQ(first_page["transactions"].size(), 1u) << first.body;
  EXPECT_EQ(first_page["transactions"][0]["xid"], "ABANDONED-0");
  EXPECT_NE(first_page["transactions"][0]["parked_reason"].get<std::string>().find("403"), std::string::npos)
      << first.body;
  ASSERT_EQ(first_page["next_after"], "ABANDONED-0");
  const auto second =
      nlohmann::json::parse(reader.get("/v1/transactions?status=PARKED&limit=1&after=ABANDONED-0").body);
  ASSERT_EQ(second["transactions"].size(), 1u);
  EXPECT_EQ(second["transactions"][0]["xid"], "ABANDONED-1");
  EXPECT_TRUE(second["next_after"].is_null());
  EXPECT_EQ(reader.get("/v1/transactions?stauts=PARKED").status, 400) << "a typo never lists everything";
  EXPECT_EQ(reader.get("/v1/transactions?limit=5000").status, 400);
  EXPECT_EQ(reader.post("/v1/transactions", "{}").status, 405);

  // The transaction with its trail: the refused call is evidence.
  const auto shown = nlohmann::json::parse(reader.get("/v1/transactions/ABANDONED-0").body);
  bool refused_call = false;
  for (const auto& attempt : shown["attempts"]) refused_call |= attempt["http_status"] == 403;
  EXPECT_TRUE(refused_call) << shown.dump();
  EXPECT_TRUE(shown["admin_actions"].empty());
  EXPECT_EQ(reader.get("/v1/transactions/ABANDONED-0?attempts_limit=0").status, 400);

  const std::string retry = "/v1/transactions/ABANDONED-0/retry";
  const auto forbidden = reader.post(retry, "{}");
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(nlohmann::json::parse(forbidden.body)["code"], "forbidden");
  EXPECT_EQ(anonymous.post(retry, "{}").status, 401);
  for (const std::string& bad :
       {std::string("not json"), std::string(R"({"reason": 7})"), std::string(R"({"reason": "x", "force": true})"),
        std::string("[]"), R"({"reason": ")" + std::string(20000, 'r') + R"("})"}) {
    const auto refused = admin.post(retry, bad);
    EXPECT_EQ(refused.status, 400) << bad.substr(0, 40) << ": " << refused.body;
  }
  EXPECT_EQ(admin.get(retry).status, 405);
  EXPECT_EQ(admin.post("/v1/transactions/NOPE/retry", "").status, 404);
  EXPECT_EQ(admin.post("/v1/transactions/ABANDONED-0/explode", "").status, 404);
  EXPECT_EQ(status_of("ABANDONED-0"), "PARKED") << "refused requests change nothing";

  // A human takes ABANDONED-1 over; ABANDONED-0 is retried once stock accepts calls again.
  EXPECT_EQ(reader.post("/v1/transactions/ABANDONED-1/abandon", R"({"reason": "r"})").status, 403);
  EXPECT_EQ(admin.post("/v1/transactions/ABANDONED-1/abandon", "{}").status, 400) << "abandoning needs a reason";
  // The same through the CLI, as the runbooks do it.
  const auto parked_table = admin_cli(kReadToken, {"list", "--status", "PARKED"});
  EXPECT_EQ(parked_table.exit_code, 0) << parked_table.output;
  EXPECT_NE(parked_table.output.find("ABANDONED-1  PARKED"), std::string::npos) << parked_table.output;
  EXPECT_EQ(admin_cli(kReadToken, {"abandon", "ABANDONED-1", "--reason", "r"}).exit_code, 5) << "read scope";
  EXPECT_EQ(admin_cli("e2e-wrong-token-0123456789", {"list"}).exit_code, 5);
  EXPECT_EQ(admin_cli(kReadToken, {"show", "NOPE"}).exit_code, 3);
  EXPECT_EQ(admin_cli(kAdminToken, {"abandon", "ABANDONED-1"}).exit_code, 2) << "abandoning needs a reason";
  const auto abandoned = admin_cli(kAdminToken, {"abandon", "ABANDONED-1", "--reason", "finance unlocks it (INC-8)"});
  ASSERT_EQ(abandoned.exit_code, 0) << abandoned.output;
  EXPECT_NE(abandoned.output.find("ABANDONED-1: abandoned, now ABANDONED"), std::string::npos) << abandoned.output;
  refuse_stock_calls(false);
  const auto retried = admin.post(retry, R"j({"reason": "stock accepts our token again (INC-7)"})j");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(nlohmann::json::parse(retried.body)["status"], "CANCELLING");
  for (int i = 0; i < 600 && status_of("ABANDONED-0") != "CANCELLED"; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(status_of("ABANDONED-0"), "CANCELLED") << daemon->log();
  const auto orders = totals()["stock"]["orders"];
  EXPECT_EQ(orders["ABANDONED-0"]["state"], "rolled_back") << orders.dump();
  EXPECT_EQ(orders["ABANDONED-1"]["state"], "locked") << "the human's to unlock: " << orders.dump();

  const auto listed = nlohmann::json::parse(reader.get("/v1/transactions?status=ABANDONED").body);
  ASSERT_EQ(listed["transactions"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["transactions"][0]["xid"], "ABANDONED-1");
  const auto audited = nlohmann::json::parse(reader.get("/v1/transactions/ABANDONED-1").body);
  ASSERT_EQ(audited["admin_actions"].size(), 1u) << audited.dump();
  EXPECT_EQ(audited["admin_actions"][0]["action"], "abandon");
  EXPECT_EQ(audited["admin_actions"][0]["actor"], "ops");
  EXPECT_EQ(audited["admin_actions"][0]["before"]["status"], "PARKED");
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.admin_actions WHERE xid = 'ABANDONED-0' AND action = "
                        "'retry' AND actor = 'ops' AND before ->> 'status' = 'PARKED'"),
            1);
  const auto again = admin.post(retry, "");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(nlohmann::json::parse(again.body)["code"], "finished");
  EXPECT_EQ(admin.post("/v1/transactions/ABANDONED-1/abandon", R"({"reason": "twice"})").status, 409);

  const std::string decide = "/v1/transactions/ABANDONED-0/decide";
  EXPECT_EQ(reader.post(decide, R"({"decision": "confirm", "reason": "r"})").status, 403);
  EXPECT_EQ(admin.post(decide, R"({"decision": "maybe", "reason": "r"})").status, 400);
  EXPECT_EQ(admin.post(decide, R"({"decision": "confirm"})").status, 400) << "a decision by hand needs a reason";
  const auto contradicted = admin.post(decide, R"({"decision": "confirm", "reason": "customer paid after all"})");
  EXPECT_EQ(contradicted.status, 409) << contradicted.body;
  EXPECT_EQ(nlohmann::json::parse(contradicted.body)["decision"], "cancel") << "a decision is final";
  EXPECT_EQ(status_of("ABANDONED-1"), "ABANDONED") << "no replica took it back";
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for(30s), 0) << daemon->log();
}

// After an incident at one participant, its parked transactions go back to work in one request:
// shown first (a dry run is the default), then retried a page at a time, each audited.
TEST_F(EndToEnd, AnOperatorRetriesTheParkedTransactionsOfAParticipantInBulkAfterADryRun) {
  const auto daemon = run_until_parked_by_refusals(write_config("daemon.yaml", 50, 4, daemon_port, "bulk-e2e"), 3);
  ASSERT_FALSE(HasFailure());

  demo::HttpClient admin = api_client(kAdminToken);
  const std::string bulk = "/v1/transactions:retry?status=PARKED&participant=stock";
  EXPECT_EQ(api_client(kReadToken).post(bulk, "{}").status, 403);
  EXPECT_EQ(admin.post("/v1/transactions:retry?participant=stock", "{}").status, 400) << "no status";
  EXPECT_EQ(admin.post("/v1/transactions:retry?status=CANCELLED", "{}").status, 400) << "a finished status";
  EXPECT_EQ(admin.post("/v1/transactions:retry?status=PARKED&limit=1001", "{}").status, 400) << "over the cap";
  EXPECT_EQ(admin.post(bulk, R"({"dry_run": "no"})").status, 400);
  EXPECT_EQ(admin.post(bulk, R"({"dry_run": false})").status, 400) << "retrying needs a reason";
  EXPECT_EQ(admin.get(bulk).status, 405);

  const auto dry = admin.post(bulk, "");
  ASSERT_EQ(dry.status, 200) << dry.body;
  const auto shown = nlohmann::json::parse(dry.body);
  EXPECT_EQ(shown["dry_run"], true);
  EXPECT_EQ(shown["retried"], 0);
  ASSERT_EQ(shown["transactions"].size(), 3u) << dry.body;
  EXPECT_EQ(shown["transactions"][2]["xid"], "ABANDONED-2");
  EXPECT_EQ(count_in("PARKED"), 3) << "a dry run changes nothing";
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.admin_actions"), 0);

  refuse_stock_calls(false);
  const auto dry_table = admin_cli(kAdminToken, {"retry-matching", "--status", "PARKED"});
  EXPECT_EQ(dry_table.exit_code, 0) << dry_table.output;
  EXPECT_NE(dry_table.output.find("dry run: 3 transactions would be retried"), std::string::npos) << dry_table.output;
  EXPECT_EQ(admin_cli(kAdminToken, {"retry-matching", "--status", "PARKED", "--apply"}).exit_code, 2)
      << "--apply needs a reason";
  const auto first_page =
      admin_cli(kAdminToken, {"retry-matching", "--status", "PARKED", "--participant", "stock", "--limit", "2",
                              "--apply", "--reason", "stock accepts our token again (INC-9)"});
  ASSERT_EQ(first_page.exit_code, 0) << first_page.output;
  EXPECT_NE(first_page.output.find("2 of 2 transactions retried"), std::string::npos) << first_page.output;
  EXPECT_NE(first_page.output.find("(more match"), std::string::npos) << first_page.output;
  const auto rest = admin.post(bulk, R"j({"dry_run": false, "reason": "the rest (INC-9)"})j");
  ASSERT_EQ(rest.status, 200) << rest.body;
  const auto rest_json = nlohmann::json::parse(rest.body);
  ASSERT_EQ(rest_json["transactions"].size(), 1u) << rest.body;
  EXPECT_EQ(rest_json["transactions"][0]["xid"], "ABANDONED-2");
  EXPECT_EQ(rest_json["transactions"][0]["outcome"], "retried");
  EXPECT_EQ(rest_json["retried"], 1);

  for (int i = 0; i < 600 && count_in("CANCELLED") < 3; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(count_in("CANCELLED"), 3) << daemon->log();
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.admin_actions WHERE action = 'retry' AND actor = 'ops' "
                        "AND before ->> 'status' = 'PARKED' AND reason LIKE '%INC-9%'"),
            3);
  daemon->signal(SIGTERM);
  EXPECT_EQ(daemon->wait_for(30s), 0) << daemon->log();
}

// Passwords in a participant's base_url, a check's DSN and a legacy source's DSN never reach the
// daemon's log, the attempts table or the API, though calls and failures name those places.
TEST_F(EndToEnd, PasswordsNeverReachTheLogTheAttemptsOrTheApi) {
  const std::string secret = "Pw-e2e-d1st1nct-7q";
  start_services();
  const std::string config = write_config("daemon.yaml", 50, 4, daemon_port, "secrets");
  YAML::Node yaml = YAML::LoadFile(config);
  yaml["participants"]["stock"]["base_url"] = "http://ops:" + secret + "@" + services_url.substr(7);
  // libpq quotes a malformed URI whole in its error: the check of kind `broken` cannot connect.
  YAML::Node broken = YAML::Clone(yaml["kinds"]["order"]);
  broken["check"]["sql"]["dsn"] = "postgresql://svc:" + secret + "@[::1/orders";
  yaml["kinds"]["broken"] = broken;
  yaml["sources"]["legacy_logs"].push_back(
      YAML::Load("{name: old_log, dsn: 'postgresql://reader:" + secret +
                 "@[::1/shop', query: 'SELECT 1 AS xid, 1 AS sku', kind: order, interval: 200ms, "
                 "branches: [{participant: stock, fields: {sku: sku}}]}"));
  std::ofstream(config) << YAML::Dump(yaml);
  migrate(config);
  place_abandoned_orders(1);
  {
    auto connection = db.connect();
    pqxx::work tx(connection);
    tx.exec1(
        "SELECT compensatord.begin_transaction('BROKEN-0', 'broken', '[{\"participant\": \"stock\", \"fields\": "
        "{\"sku\": \"SKU-1\", \"qty\": 1}}]'::jsonb, interval '0 seconds')");
    tx.commit();
  }
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  wait_for_http(probe_url("/readyz"), daemon);
  demo::HttpClient api = api_client(kReadToken);
  const auto old_log_poll_failed = [&] {
    std::istringstream lines(daemon.log());
    for (std::string line; std::getline(lines, line);) {
      if (line.find(R"("source":"old_log")") != std::string::npos &&
          line.find(R"("msg":"poll failed)") != std::string::npos)
        return true;
    }
    return false;
  };
  const auto settled = [&] {
    return query_count(
               "SELECT count(*) FROM compensatord.transactions WHERE xid = 'ABANDONED-0' AND "
               "status = 'CANCELLED'") == 1 &&
           query_count("SELECT count(*) FROM compensatord.attempts WHERE xid = 'BROKEN-0' AND error <> ''") >= 2 &&
           old_log_poll_failed();
  };
  for (int i = 0; i < 200 && !settled(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(settled()) << daemon.log();

  auto connection = db.connect();
  pqxx::nontransaction tx(connection);
  const auto trail = tx.exec1(
                           "SELECT coalesce(string_agg(request_summary || ' ' || coalesce(error, ''), E'\\n'), '') "
                           "FROM compensatord.attempts")[0]
                         .as<std::string>();
  EXPECT_NE(trail.find("http://ops:***@127.0.0.1"), std::string::npos) << trail;
  EXPECT_NE(trail.find("SQL check failed"), std::string::npos) << trail;
  EXPECT_EQ(trail.find(secret), std::string::npos) << trail;
  for (const std::string xid : {"ABANDONED-0", "BROKEN-0"}) {
    const auto reply = api.get("/v1/transactions/" + xid);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.body.find(secret), std::string::npos) << reply.body;
  }
  EXPECT_NE(api.get("/v1/transactions/BROKEN-0").body.find("SQL check failed"), std::string::npos);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
  EXPECT_EQ(daemon.log().find(secret), std::string::npos) << daemon.log();
}

// The API has threads of its own and a bounded queue: a flood of reads that each go to the
// database gets answers or 503s, and the reconciler's calls go on as if nothing happened: every
// branch called once, none of them timing out.
TEST_F(EndToEnd, AFloodOfApiRequestsDoesNotHoldBackTheReconciler) {
  constexpr int kOrders = 1000;
  constexpr int kFlooders = 64;
  start_services();
  const std::string config = write_config("daemon.yaml", 50, 8, daemon_port, "flooded");
  migrate(config);
  place_abandoned_orders(kOrders);
  ChildProcess daemon({COMPENSATORD_BIN, "run", "--config", config}, work.file("compensatord.log"), env());
  wait_for_http(probe_url("/readyz"), daemon);

  std::atomic<bool> flooding{true};
  std::mutex mutex;
  std::map<int, long long> answers;  // HTTP status (0: no answer) -> count
  int flooders_served = 0;           // flooders that had at least one 200
  std::vector<std::jthread> flooders;
  for (int f = 0; f < kFlooders; ++f) {
    flooders.emplace_back([&, f] {
      demo::HttpClient api = api_client(kReadToken, 10s);
      std::map<int, long long> mine;
      // Each flooder keeps asking until the drain is over; a quick drain on a
      // loaded machine must not leave a flooder that never got its answer.
      for (int i = f; flooding || (mine[200] == 0 && i < f + 20 * kFlooders); i += kFlooders) {
        ++mine[api.get(fmt::format("/v1/transactions/ABANDONED-{}", i % kOrders)).status];
      }
      std::lock_guard lock(mutex);
      for (const auto& [status, count] : mine)
        if (count > 0) answers[status] += count;
      if (mine[200] > 0) ++flooders_served;
    });
  }
  long long cancelled = 0;
  for (int i = 0; i < 1200 && cancelled < kOrders; ++i) {
    std::this_thread::sleep_for(100ms);
    cancelled = query_count("SELECT count(*) FROM compensatord.transactions WHERE status = 'CANCELLED'");
  }
  flooding = false;
  flooders.clear();

  EXPECT_EQ(cancelled, kOrders) << daemon.log();
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.attempts WHERE action = 'cancel'"), kOrders);
  EXPECT_EQ(query_count("SELECT count(*) FROM compensatord.attempts WHERE action = 'cancel' AND outcome <> 'done'"), 0)
      << "a call timed out or failed while the API was flooded";
  EXPECT_EQ(totals()["stock"]["locked"], 0);
  for (const auto& [status, count] : answers) {
    std::cout << "API answers with status " << status << ": " << count << "\n";
    EXPECT_TRUE(status == 200 || status == 503) << count << " answers with status " << status;
  }
  EXPECT_EQ(flooders_served, kFlooders) << "every flooding client got answers while the reconciler drained";
  EXPECT_EQ(demo::HttpClient(probe_url("")).get("/healthz").status, 200);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_for(30s), 0) << daemon.log();
}

}  // namespace
}  // namespace compensatord::testing
