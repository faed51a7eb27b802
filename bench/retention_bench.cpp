// What purging the finished history costs the reconciler (issue 10): the claim statement's latency
// while reconciler-like load runs, in slices with and without the retention job deleting the
// history. Target: purging 1,000,000 finished transactions raises claim time by at most 20 %.
//
//   retention_bench --dsn DSN [--history 1000000] [--backlog 20000] [--threads 4] [--claim 10]
//                   [--slice-seconds 15] [--max-purge-seconds 1200] [--batch-size 1000] [--pause-ms 100]
//
// The load: `threads` loops, each claiming `claim` due transactions (PgStore::claim_due, the
// reconciler's statement) and writing them back due again at once (PgStore::write_back_all), so
// the backlog never runs dry and every claim competes with write-backs, as under a reconciler at
// load. Claims are timed from call to return. The history: finished transactions (half CONFIRMED,
// half CANCELLED) two days old, each with two branches and three attempts, written by
// generate_series. The purge: retention::RetentionJob::run_once with finished_after 1d, in a
// thread of its own.
//
// Idle and purging slices alternate (idle first and last) until the history is gone: on a shared
// machine whose speed drifts by tens of percent within minutes, a window before the purge and one
// during it measure the drift as much as the purge; slices of seconds put both sides under the same
// drift. Each purging slice is a run that the slice's end stops (the next run resumes: it deletes
// what is still past the limit); the last one ends by itself.

#include "percentile.hpp"

#include "retention/retention_job.hpp"
#include "store/pg_store.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using compensatord::bench::percentile;

using namespace std::chrono_literals;
using compensatord::Status;
using compensatord::store::lease_of;
using compensatord::store::PgStore;
using compensatord::store::WriteBack;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string dsn;
  long long history = 1'000'000;
  long long backlog = 20'000;
  int threads = 4;
  int claim = 10;
  int slice_seconds = 15;
  int max_purge_seconds = 1200;
  int batch_size = 1000;
  int pause_ms = 100;
};

void fill(const Options& options) {
  pqxx::connection c(options.dsn);
  const auto started = Clock::now();
  {
    pqxx::work tx(c);
    tx.exec0("TRUNCATE compensatord.transactions CASCADE");
    tx.exec0(fmt::format(R"(
INSERT INTO compensatord.transactions (xid, kind, source, status, decision, due_at, next_attempt_at, created_at,
                                       updated_at, finished_at)
SELECT 'h-' || g, 'order', 'bench', CASE g % 2 WHEN 0 THEN 'CONFIRMED' ELSE 'CANCELLED' END,
       CASE g % 2 WHEN 0 THEN 'confirm' ELSE 'cancel' END, at, at, at, at, at
  FROM generate_series(1, {}) g, LATERAL (SELECT now() - interval '2 days' - g * interval '1 millisecond' AS at) a)",
                         options.history));
    tx.exec0(fmt::format(R"(
INSERT INTO compensatord.branches (xid, branch_no, participant, fields, status, last_outcome, attempt_count)
SELECT 'h-' || g, b, CASE b WHEN 0 THEN 'stock' ELSE 'coupon' END, '{{"sku": "SKU-1", "qty": 1}}', 'done', 'done', 1
  FROM generate_series(1, {}) g, generate_series(0, 1) b)",
                         options.history));
    tx.exec0(fmt::format(R"(
INSERT INTO compensatord.attempts (xid, branch_no, action, replica, started_at, request_summary, outcome, http_status,
                                   latency_ms)
SELECT 'h-' || g, b, CASE WHEN b IS NULL THEN 'check' ELSE 'cancel' END, 'bench', now() - interval '2 days',
       'POST http://stock/api/stock/rollback/h-' || g, 'done', 200, 3
  FROM generate_series(1, {}) g, unnest(ARRAY[NULL, 0, 1]::integer[]) b)",
                         options.history));
    tx.exec0(fmt::format(R"(
INSERT INTO compensatord.transactions (xid, kind, source, status, due_at, next_attempt_at)
SELECT 'b-' || g, 'order', 'bench', 'PENDING', now() - interval '1 hour', now() - interval '1 hour' + g * interval '1 ms'
  FROM generate_series(1, {}) g)",
                         options.backlog));
    tx.exec0(fmt::format(R"(
INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
SELECT 'b-' || g, b, CASE b WHEN 0 THEN 'stock' ELSE 'coupon' END, '{{"sku": "SKU-1", "qty": 1}}'
  FROM generate_series(1, {}) g, generate_series(0, 1) b)",
                         options.backlog));
    tx.commit();
  }
  pqxx::nontransaction(c).exec0(
      "VACUUM ANALYZE compensatord.transactions, compensatord.branches, compensatord.attempts");
  fmt::print(stderr, "retention_bench: {} finished transactions (2 branches, 3 attempts each) and {} due in {:.1f} s\n",
             options.history, options.backlog, std::chrono::duration<double>(Clock::now() - started).count());
}

// Claims and writes back until `stop`; the duration of every claim while `measuring` is set.
class Load {
 public:
  Load(PgStore& store, const Options& options) : store_(store), options_(options) {}

  void start() {
    for (int i = 0; i < options_.threads; ++i) {
      threads_.emplace_back([this, i](const std::stop_token& stop) { work(stop, fmt::format("bench-{}", i)); });
    }
  }
  void stop() { threads_.clear(); }

  // Claim times in milliseconds recorded since the previous call.
  std::vector<double> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(millis_, {});
  }
  long long errors() const { return errors_; }

 private:
  void work(const std::stop_token& stop, const std::string& owner) {
    while (!stop.stop_requested()) {
      try {
        const auto started = Clock::now();
        auto claimed = store_.claim_due({owner, options_.claim, 60s});
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        {
          std::lock_guard lock(mutex_);
          millis_.push_back(ms);
        }
        std::vector<WriteBack> results;
        for (const auto& txn : claimed) {
          WriteBack result;
          result.xid = txn.xid;
          result.lease = lease_of(txn);
          result.expected_status = Status::Pending;
          result.status = Status::Pending;
          result.attempt_count = txn.attempt_count;
          results.push_back(std::move(result));
        }
        store_.write_back_all(results);
      } catch (const std::exception& e) {
        ++errors_;
        fmt::print(stderr, "retention_bench: {}\n", e.what());
      }
    }
  }

  PgStore& store_;
  const Options& options_;
  std::mutex mutex_;
  std::vector<double> millis_;
  std::atomic<long long> errors_{0};
  std::vector<std::jthread> threads_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Claim latency under load, in slices with and without the retention job purging the history."};
  Options options;
  app.add_option("--dsn", options.dsn, "PostgreSQL DSN (its compensatord schema is truncated!)")->required();
  app.add_option("--history", options.history, "finished transactions to purge")->capture_default_str();
  app.add_option("--backlog", options.backlog, "due PENDING transactions the load claims")->capture_default_str();
  app.add_option("--threads", options.threads, "claiming threads (the load)")->capture_default_str();
  app.add_option("--claim", options.claim, "transactions per claim")->capture_default_str();
  app.add_option("--slice-seconds", options.slice_seconds, "length of each slice, idle or purging")
      ->capture_default_str();
  app.add_option("--max-purge-seconds", options.max_purge_seconds, "purging slices stop after this in all")
      ->capture_default_str();
  app.add_option("--batch-size", options.batch_size, "retention.batch_size")->capture_default_str();
  app.add_option("--pause-ms", options.pause_ms, "retention.pause")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  PgStore store(options.dsn, {.pool_size = static_cast<std::size_t>(options.threads) + 1});
  store.migrate();
  fill(options);

  compensatord::retention::RetentionConfig retention;
  retention.finished_after = 24h;
  retention.batch_size = options.batch_size;
  retention.pause = std::chrono::milliseconds(options.pause_ms);
  compensatord::retention::RetentionJob job(options.dsn, {}, retention);

  Load load(store, options);
  load.start();
  std::this_thread::sleep_for(2s);  // connections opened, caches warm
  load.take();

  const auto slice = std::chrono::seconds(options.slice_seconds);
  std::vector<double> idle;
  std::vector<double> purging;
  long long purged = 0;
  int batches = 0;
  int slices = 0;
  bool failed = false;
  bool history_left = true;
  Clock::duration purge_time{};
  const auto idle_slice = [&] {
    std::this_thread::sleep_for(slice);
    const auto claims = load.take();
    idle.insert(idle.end(), claims.begin(), claims.end());
  };
  while (history_left && purge_time < std::chrono::seconds(options.max_purge_seconds)) {
    idle_slice();
    // A run ends by itself only when the history is gone; otherwise the slice's end stops it.
    const auto started = Clock::now();
    std::atomic<bool> ended{false};
    compensatord::retention::RunResult result;
    std::jthread run([&](const std::stop_token& stop) {
      result = job.run_once(stop);
      ended = true;
    });
    while (!ended && Clock::now() - started < slice) std::this_thread::sleep_for(50ms);
    history_left = !ended;
    run.request_stop();
    run.join();
    purge_time += Clock::now() - started;
    const auto claims = load.take();
    purging.insert(purging.end(), claims.begin(), claims.end());
    purged += result.total();
    batches += result.batches;
    failed = failed || result.outcome != compensatord::retention::RunOutcome::Ok;
    ++slices;
  }
  idle_slice();  // idle slices on both sides of every purging one
  load.stop();

  const double idle50 = percentile(idle, 0.5);
  const double idle99 = percentile(idle, 0.99);
  const double purge50 = percentile(purging, 0.5);
  const double purge99 = percentile(purging, 0.99);
  const double purge_seconds = std::chrono::duration<double>(purge_time).count();
  fmt::print(
      "history={} backlog={} threads={} claim={} batch_size={} pause_ms={} slice_s={} slices={} idle_claims={} "
      "idle_p50_ms={:.3f} idle_p99_ms={:.3f} purge_claims={} purge_p50_ms={:.3f} purge_p99_ms={:.3f} "
      "p50_ratio={:.3f} p99_ratio={:.3f} purged={} purge_s={:.1f} purged_per_s={:.0f} purge_batches={} "
      "purge_result={} load_errors={}\n",
      options.history, options.backlog, options.threads, options.claim, options.batch_size, options.pause_ms,
      options.slice_seconds, slices, idle.size(), idle50, idle99, purging.size(), purge50, purge99,
      idle50 > 0 ? purge50 / idle50 : 0, idle99 > 0 ? purge99 / idle99 : 0, purged, purge_seconds,
      purge_seconds > 0 ? static_cast<double>(purged) / purge_seconds : 0, batches, failed ? "error" : "ok",
      load.errors());
  return !failed && purged == options.history && load.errors() == 0 ? 0 : 1;
}
