// compensatord: finds unfinished distributed transactions, decides each once, and drives
// every participant to the decision. See README.md and docs/.

#include "adapters/http_transport.hpp"
#include "adapters/participant_spec.hpp"
#include "admin/admin_command.hpp"
#include "config/config.hpp"
#include "http/api_server.hpp"
#include "log/log.hpp"
#include "log/log_format.hpp"
#include "metrics/metrics.hpp"
#include "metrics/metrics_server.hpp"
#include "metrics/store_gauges.hpp"
#include "process/reload.hpp"
#include "process/signals.hpp"
#include "reconciler/context.hpp"
#include "reconciler/reconcile_loop.hpp"
#include "retention/retention_job.hpp"
#include "runtime/manager.hpp"
#include "sources/kafka/kafka_source.hpp"
#include "sources/legacy_log_source.hpp"
#include "store/group_commit.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace compensatord {
namespace {
constexpr log::Log kLog{"compensatord"};

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

// The loaded config, or nothing after printing every error.
std::optional<config::LoadResult> load_or_report(const std::string& path) {
  config::LoadResult loaded = config::load_config_file(path);
  if (loaded.config) return loaded;
  std::cerr << path << ": invalid configuration\n";
  for (const auto& e : loaded.errors.all()) std::cerr << "  " << e.to_string() << "\n";
  return std::nullopt;
}

int check_config(const std::string& path) {
  auto loaded = load_or_report(path);
  if (!loaded) return kExitBadConfig;
  const auto& config = loaded->config;
  std::cout << path << ": ok (" << config->kinds.size() << " kinds, " << config->participants.size()
            << " participants, " << config->legacy_logs.size() << " legacy log sources)\n";
  return kExitOk;
}

std::optional<std::string> loop_failure(const reconciler::ReconcileLoop& loop, std::chrono::milliseconds bound) {
  if (!loop.stalled(bound)) return std::nullopt;
  return "work is waiting and no claim or reconcile completed within reconciler.stall_timeout";
}

// The cheapest statement that needs the database: it reads one row of schema_migrations. A
// database that cannot answer throws, which fails the check with its message.
std::optional<std::string> database_failure(store::ReadStore& store) {
  store.schema_version();
  return std::nullopt;
}

std::optional<std::string> migrations_failure(store::ReadStore& store) {
  const int latest = store::migrations().back().version;
  const int version = store.schema_version();
  if (version >= latest) return std::nullopt;
  return fmt::format("schema version {} is older than {}: run compensatord migrate", version, latest);
}

std::optional<std::string> kafka_failure(const kafka::KafkaSource& source) {
  if (source.connected()) return std::nullopt;
  return "no Kafka broker reachable: delayed check messages are not ingested (reconciling goes on)";
}

health::HealthChecks health_checks(store::ReadStore& store, const reconciler::ReconcileLoop& loop,
                                   std::chrono::milliseconds stall_timeout, const kafka::KafkaSource* kafka,
                                   const process::ConfigReloader& reloader, const http::ApiServer* tls_api) {
  health::HealthChecks checks{
      .liveness = {{"reconcile_loop", [&loop, stall_timeout] { return loop_failure(loop, stall_timeout); }}},
      .readiness = {{"database", [&store] { return database_failure(store); }},
                    {"migrations", [&store] { return migrations_failure(store); }}},
  };
  if (kafka != nullptr) checks.readiness.push_back({"kafka", [kafka] { return kafka_failure(*kafka); }});
  // A refused reload leaves the previous config running: worth a look, not a reason to take the
  // replica out of service (HealthCheck::informational).
  checks.readiness.push_back({"config", [&reloader] { return reloader.last_failure(); }, true});
  // Likewise a renewed certificate that cannot be read: the previous one is still served.
  if (tls_api != nullptr) {
    checks.readiness.push_back({"api_tls", [tls_api] { return tls_api->tls_failure(); }, true});
  }
  return checks;
}

// The /v1 API, or nothing when http.listen is off.
std::unique_ptr<http::ApiServer> open_api(const http::HttpConfig& config, store::PgStore& store) {
  if (!config.listen) {
    kLog.info("http.listen is off: no API port is open");
    return nullptr;
  }
  if (config.tokens.empty()) {
    kLog.warn("http.tokens is empty: the /v1 API refuses every request (401)");
  }
  return std::make_unique<http::ApiServer>(*config.listen, config.tokens, config.tls, store, store);
}

std::unique_ptr<kafka::KafkaSource> make_kafka_source(const config::DaemonConfig& config, store::IngestStore& store,
                                                      metrics::Metrics& metrics) {
  if (!config.kafka) return nullptr;
  metrics.declare_kafka();
  return std::make_unique<kafka::KafkaSource>(*config.kafka, process::kafka_message_rules(*config.kafka, config), store,
                                              metrics);
}

// One source per `sources.legacy_logs` entry; rows without a due_at are due after their kind's timeout.
std::vector<std::unique_ptr<sources::LegacyLogSource>> make_legacy_log_sources(const config::DaemonConfig& config,
                                                                               store::IngestStore& store,
                                                                               metrics::Metrics& metrics) {
  std::vector<std::unique_ptr<sources::LegacyLogSource>> made;
  for (const auto& legacy : config.legacy_logs) {
    metrics.declare_legacy_log(legacy.name);
    made.push_back(
        std::make_unique<sources::LegacyLogSource>(legacy, config.kinds.at(legacy.kind).timeout, store, metrics));
  }
  return made;
}

// database.* bounds every wait of the state database's connections.
store::ConnectionLimits connection_limits(const store::DatabaseConfig& database) {
  return {.connect_timeout = database.connect_timeout,
          .statement_timeout = database.statement_timeout,
          .lock_timeout = database.lock_timeout};
}

metrics::StoreSnapshot read_store_snapshot(store::ReadStore& store) {
  return {store.count_by_status(), store.oldest_due_age()};
}

int migrate(const std::string& path) {
  auto loaded = load_or_report(path);
  if (!loaded) return kExitBadConfig;
  const auto& config = loaded->config;
  log::use_log_format(config->logging.format);
  try {
    store::PgStore store(config->database.dsn,
                         store::PgStoreOptions{.pool_size = 1, .limits = connection_limits(config->database)});
    store.migrate();
  } catch (const std::exception& e) {
    kLog.critical("migrating the state database failed: {}", e.what());
    return kExitFailure;
  }
  kLog.info("state database schema is up to date");
  return kExitOk;
}

std::unique_ptr<adapters::HttpTransport> make_transport(const config::DaemonConfig& config) {
  // As many connections stay open as calls can be in flight at once.
  int in_flight = 0;
  for (const auto& [name, spec] : config.participants) in_flight += spec->max_in_flight;
  const adapters::TransportOptions options{.verify_tls = config.verify_tls, .kept_connections = in_flight};
  switch (config.http_client) {
    case config::HttpClient::Cpprest:
      return adapters::make_cpprest_transport(options);
    case config::HttpClient::Curl:
      break;
  }
  return adapters::make_curl_transport(options);
}

int run(const std::string& path, bool until_idle) {
  auto loaded = load_or_report(path);
  if (!loaded) return kExitBadConfig;
  const auto& config = loaded->config;
  spdlog::set_level(spdlog::level::from_str(config->logging.level));
  log::use_log_format(config->logging.format);

  metrics::Metrics metrics(COMPENSATORD_VERSION);
  std::unique_ptr<store::PgStore> store;
  try {
    store = std::make_unique<store::PgStore>(
        config->database.dsn,
        store::PgStoreOptions{
            .pool_size = static_cast<std::size_t>(config->reconciler.workers) + 2,
            .limits = connection_limits(config->database),
            .on_ingest_conflict = [&metrics](std::string_view source) { metrics.ingest_conflict(source); }});
    store->migrate();
  } catch (const std::exception& e) {
    kLog.critical("cannot open the state database: {}", e.what());
    return kExitFailure;
  }

  // Before any thread starts, so every thread inherits the mask; after the migrations, which may
  // wait on another replica's migration lock: a SIGTERM then ends the process at once (nothing
  // has started, and an interrupted migration rolls back).
  process::ProcessSignals signals;

  for (const auto& [name, spec] : config->participants) metrics.declare_participant(name);
  std::shared_ptr<adapters::HttpTransport> transport = make_transport(*config);
  store::GroupCommitStore batched(*store);
  reconciler::TransactionReconciler reconciler(
      batched,
      std::make_shared<const reconciler::ReconcileContext>(
          reconciler::build_context(config->kinds, config->participants, transport)),
      config->replica_id);
  reconciler::ReconcileLoop loop(batched, reconciler, config->reconciler, config->replica_id, metrics);

  auto kafka_source = make_kafka_source(*config, *store, metrics);
  process::ConfigReloader reloader(
      path, *loaded,
      {.reconciler = reconciler, .transport = transport, .metrics = metrics, .kafka = kafka_source.get()});

  // The API's database work has connections of its own: a flood of API requests waits for these,
  // never for the reconciler's. The probes have one more, so that the flood cannot fail readiness.
  store::PgStore api_store(config->database.dsn, store::PgStoreOptions{.pool_size = http::kApiDatabaseConnections,
                                                                       .limits = connection_limits(config->database)});
  store::PgStore probe_store(config->database.dsn,
                             store::PgStoreOptions{.pool_size = 1, .limits = connection_limits(config->database)});
  std::unique_ptr<http::ApiServer> api;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  try {
    api = open_api(config->http, api_store);
    metrics_server = std::make_unique<metrics::MetricsServer>(
        config->metrics.listen, metrics,
        health_checks(probe_store, loop, config->reconciler.stall_timeout, kafka_source.get(), reloader,
                      config->http.tls ? api.get() : nullptr));
  } catch (const std::exception& e) {
    kLog.critical("{}", e.what());
    return kExitFailure;
  }
  metrics::StoreGaugePoller store_gauges([&store = *store] { return read_store_snapshot(store); }, metrics,
                                         config->metrics.refresh_interval);

  // The signals are the manager's stop, as a signal handler is controller-runtime's: the watcher
  // outlives the manager's run and reports signals that arrive while the runnables stop.
  std::stop_source stop;
  std::jthread signal_watcher(
      [&](std::stop_token own) { signals.watch(own, stop, [&reloader] { reloader.reload(); }); });
  auto legacy_sources = make_legacy_log_sources(*config, *store, metrics);
  if (until_idle) {
    for (auto& source : legacy_sources) source->poll();
  }
  // Not under --until-idle: a drain that exits once nothing is due has no history to keep small,
  // and a run over a long history would hold its exit back.
  std::unique_ptr<retention::RetentionJob> retention;
  if (!until_idle && retention::RetentionJob::enabled(config->retention)) {
    retention = std::make_unique<retention::RetentionJob>(config->database.dsn, connection_limits(config->database),
                                                          config->retention, metrics);
  }

  // Declared after everything its runnables use, so that it joins them before those go.
  runtime::Manager manager(config->reconciler.shutdown_grace);
  if (!until_idle) {
    for (auto& source : legacy_sources) {
      manager.add({"legacy_log " + source->name(), [&source = *source](std::stop_token own) { source.run(own); }});
    }
    if (kafka_source) {
      manager.add({"kafka_source", [&source = *kafka_source](std::stop_token own) { source.run(own); }});
    }
  }
  if (retention) manager.add({"retention", [&job = *retention](std::stop_token own) { job.run(own); }});
  manager.add({.name = "reconcile_loop",
               .run = [&loop, until_idle](std::stop_token own) { loop.run(own, until_idle); },
               .ends_all = until_idle});

  kLog.info({{"version", COMPENSATORD_VERSION}, {"replica", config->replica_id}},
            "reconciling ({} kinds, {} participants)", config->kinds.size(), config->participants.size());
  const runtime::StopReport stopped = manager.run(stop.get_token());
  const auto totals = loop.totals();
  kLog.info("stopped; claimed {} finished {} requeued {} parked {} lease_lost {} errors {}", totals.claimed,
            totals.finished, totals.requeued, totals.parked, totals.lease_lost, totals.errors);
  const int exit_code = stopped.failed ? kExitFailure : kExitOk;
  if (!stopped.still_running.empty()) {
    // Their threads still wait (on a participant, a database); the leases of the transactions in
    // flight expire and another replica takes them over. Leave without running the destructors
    // that would wait for them.
    kLog.warn("still running after reconciler.shutdown_grace ({}), exiting without them: {}",
              config->reconciler.shutdown_grace, fmt::join(stopped.still_running, ", "));
    spdlog::shutdown();
    std::_Exit(exit_code);
  }
  return exit_code;
}

// glibc gives busy threads malloc arenas of their own, up to 8 per core, each keeping freed memory:
// with a few hundred workers that was a quarter of the daemon's memory for no measurable speed.
// MALLOC_ARENA_MAX in the environment still decides when set.
void limit_malloc_arenas() {
  constexpr int kArenas = 2;
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, kArenas);
}

}  // namespace
}  // namespace compensatord

int main(int argc, char** argv) {
  compensatord::limit_malloc_arenas();
  CLI::App app{
      "compensatord: repairs half-finished distributed transactions by confirming or cancelling every "
      "branch, once, through config-driven HTTP adapters."};
  app.set_version_flag("--version", std::string(COMPENSATORD_VERSION));
  app.require_subcommand(1);

  std::string config_path;
  bool until_idle = false;
  CLI::App* run = app.add_subcommand("run", "Run the daemon: ingest sources, reconcile due transactions.");
  run->add_option("-c,--config", config_path, "Config file (YAML; see docs/configuration.md)")->required();
  run->add_flag("--until-idle", until_idle,
                "Exit 0 once a claim finds nothing due and nothing is in flight (for tests and cron); legacy log "
                "sources are polled once at start");

  std::string check_path;
  CLI::App* check =
      app.add_subcommand("check-config",
                         "Validate a config file and exit: 0 if valid, 2 with every error's key path and line if not. "
                         "Touches no database and no participant.");
  check->add_option("file", check_path, "Config file")->required();

  std::string migrate_path;
  CLI::App* migrate =
      app.add_subcommand("migrate",
                         "Apply the state database's schema migrations and exit (run also does this at start, under an "
                         "advisory lock, so this is for deploy pipelines that migrate before rolling out).");
  migrate->add_option("-c,--config", migrate_path, "Config file (only database.* is used)")->required();

  compensatord::admin::AdminOptions admin_options;
  CLI::App& admin = compensatord::admin::add_admin_command(app, admin_options);

  app.footer(
      "Exit codes (run, migrate, check-config): 0 ok (also after SIGTERM), 1 runtime failure (e.g. state database "
      "unreachable at start), "
      "2 invalid configuration or usage.\nSignals: SIGTERM/SIGINT stop claiming, finish or release in-flight work "
      "within reconciler.shutdown_grace, and exit 0. SIGHUP reloads the config file: kinds, participants, retry "
      "policies and logging change live; an invalid file is refused and the running config kept "
      "(docs/operations.md).");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : compensatord::kExitBadConfig;
  }
  if (*run) return compensatord::run(config_path, until_idle);
  if (admin) return compensatord::admin::run_admin(admin_options, std::cout, std::cerr);
  if (*migrate) return compensatord::migrate(migrate_path);
  return compensatord::check_config(check_path);
}
