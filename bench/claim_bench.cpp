// How long a claim of a due batch takes as the history of finished transactions grows.
// Design target: the same cost with a thousand or ten million rows (see 0001_schema.sql).
//
//   claim_bench --dsn DSN --history 1000000 [--backlog 10000] [--batch 100] [--rounds 200]

#include "percentile.hpp"

#include "store/pg_store.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <vector>

namespace {

using compensatord::bench::percentile;

using compensatord::store::lease_of;
using compensatord::store::LeasedXid;
using compensatord::store::PgStore;

void fill(const std::string& dsn, long long history, long long backlog) {
  pqxx::connection c(dsn);
  pqxx::work tx(c);
  tx.exec0("TRUNCATE compensatord.transactions CASCADE");
  // Finished history: the rows a claim must never pay for.
  tx.exec0(fmt::format(
      "INSERT INTO compensatord.transactions (xid, kind, source, status, decision, due_at, next_attempt_at, "
      "finished_at) SELECT 'h-' || g, 'order', 'bench', 'CANCELLED', 'cancel', now() - interval '2 days', "
      "now() - interval '2 days' + g * interval '1 millisecond', now() - interval '1 day' FROM generate_series(1, {}) "
      "g",
      history));
  tx.exec0(
      fmt::format("INSERT INTO compensatord.transactions (xid, kind, source, status, due_at, next_attempt_at) "
                  "SELECT 'b-' || g, 'order', 'bench', 'PENDING', now() - interval '1 hour', "
                  "now() - interval '1 hour' + g * interval '1 millisecond' FROM generate_series(1, {}) g",
                  backlog));
  tx.commit();
  pqxx::nontransaction(c).exec0("VACUUM ANALYZE compensatord.transactions");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures claim_due latency over a history of finished transactions."};
  std::string dsn;
  long long history = 1000;
  long long backlog = 10000;
  int batch = 100;
  int rounds = 200;
  app.add_option("--dsn", dsn, "PostgreSQL DSN (its compensatord schema is truncated!)")->required();
  app.add_option("--history", history, "finished transactions")->capture_default_str();
  app.add_option("--backlog", backlog, "due PENDING transactions")->capture_default_str();
  app.add_option("--batch", batch, "claim size")->capture_default_str();
  app.add_option("--rounds", rounds, "claims measured")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  PgStore store(dsn, {.pool_size = 1});
  store.migrate();
  fill(dsn, history, backlog);

  std::vector<double> millis;
  for (int round = 0; round < rounds; ++round) {
    const auto started = std::chrono::steady_clock::now();
    auto claimed = store.claim_due({"bench", batch, std::chrono::seconds(60)});
    millis.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    if (claimed.empty()) {
      fmt::print(stderr, "claim_bench: the backlog ran dry after {} rounds\n", round);
      return 1;
    }
    std::vector<LeasedXid> leases;
    for (const auto& txn : claimed) leases.push_back({txn.xid, lease_of(txn)});
    store.release(leases);
  }
  fmt::print("history={} backlog={} batch={} rounds={} claim_ms_median={:.3f} claim_ms_p90={:.3f}\n", history, backlog,
             batch, rounds, percentile(millis, 0.5), percentile(millis, 0.9));
  return 0;
}
