// How fast the operator's list is over a long history (issue 10): GET /v1/transactions reads
// store::AdminStore::list, and must stay fast with 10,000,000 finished transactions kept.
//
//   list_bench --dsn DSN [--history 10000000] [--parked 5000] [--backlog 20000] [--repeat 50]
//
// The history: finished transactions (half CONFIRMED, half CANCELLED), each with a stock and a
// coupon branch, written by generate_series; beside it `parked` PARKED and `backlog` PENDING
// transactions. Then each shape of request an operator sends (first pages, a page deep in the
// history, status and participant filters) is timed `repeat` times from call to return, one at a
// time, after one untimed warm-up. The plans behind them are checked by a test
// (tests/store/admin_list_test.cpp); this measures what they cost at scale.

#include "percentile.hpp"

#include "store/admin_store.hpp"
#include "store/pg_store.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

using compensatord::bench::percentile;

using compensatord::Status;
using compensatord::store::ListFilter;
using compensatord::store::PgStore;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string dsn;
  long long history = 10'000'000;
  long long parked = 5'000;
  long long backlog = 20'000;
  int repeat = 50;
};

// `count` transactions named prefix-1..count in `status`, each with a stock and a coupon branch.
void insert(pqxx::connection& c, const std::string& prefix, long long count, const std::string& status,
            const std::string& age) {
  pqxx::work tx(c);
  const bool finished = status == "CONFIRMED" || status == "CANCELLED";
  tx.exec0(fmt::format(R"(
INSERT INTO compensatord.transactions (xid, kind, source, status, decision, due_at, next_attempt_at, created_at,
                                       updated_at, finished_at, parked_reason)
SELECT '{0}-' || lpad(g::text, 9, '0'), 'order', 'pending_log', '{2}', {3}, at, at, at, at, {4}, {5}
  FROM generate_series(1, {1}) g, LATERAL (SELECT now() - interval '{6}' - g * interval '1 millisecond' AS at) a)",
                       prefix, count, status,
                       status == "CONFIRMED" ? "'confirm'"
                       : finished            ? "'cancel'"
                                             : "NULL",
                       finished ? "at" : "NULL", status == "PARKED" ? "'stock cancel rejected: HTTP 403'" : "''", age));
  tx.exec0(fmt::format(R"(
INSERT INTO compensatord.branches (xid, branch_no, participant, fields, status, attempt_count)
SELECT '{0}-' || lpad(g::text, 9, '0'), b, CASE b WHEN 0 THEN 'stock' ELSE 'coupon' END, '{{"sku": "SKU-1"}}',
       '{2}', 1
  FROM generate_series(1, {1}) g, generate_series(0, 1) b)",
                       prefix, count, finished ? "done" : "waiting"));
  tx.commit();
}

void fill(const Options& options) {
  pqxx::connection c(options.dsn);
  const auto started = Clock::now();
  {
    pqxx::work tx(c);
    tx.exec0("TRUNCATE compensatord.transactions CASCADE");
    tx.commit();
  }
  constexpr long long kChunk = 1'000'000;  // one statement per million: progress, and bounded WAL
  for (long long done = 0; done < options.history; done += kChunk) {
    insert(c, fmt::format("h{:03}", done / kChunk), std::min(kChunk, options.history - done),
           done / kChunk % 2 == 0 ? "CONFIRMED" : "CANCELLED", "2 days");
    std::fprintf(stderr, "list_bench: %lld of %lld finished transactions written\n",
                 std::min(done + kChunk, options.history), options.history);
  }
  insert(c, "parked", options.parked, "PARKED", "1 day");
  insert(c, "pending", options.backlog, "PENDING", "1 minute");
  {
    pqxx::nontransaction tx(c);
    tx.exec0("VACUUM ANALYZE compensatord.transactions");
    tx.exec0("VACUUM ANALYZE compensatord.branches");
  }
  std::fprintf(stderr, "list_bench: history written in %.0f s\n",
               std::chrono::duration<double>(Clock::now() - started).count());
}

struct Shape {
  const char* name;
  ListFilter filter;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Latency of the operator's list (AdminStore::list) over a long finished history."};
  Options options;
  app.add_option("--dsn", options.dsn, "PostgreSQL DSN (its compensatord schema is truncated!)")->required();
  app.add_option("--history", options.history, "finished transactions")->capture_default_str();
  app.add_option("--parked", options.parked, "PARKED transactions")->capture_default_str();
  app.add_option("--backlog", options.backlog, "PENDING transactions")->capture_default_str();
  app.add_option("--repeat", options.repeat, "timed calls per request shape")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  fill(options);
  PgStore store(options.dsn, compensatord::store::PgStoreOptions{.pool_size = 1});
  const std::string middle = fmt::format("h{:03}-{:09}", options.history / 2'000'000, 500'000);
  const std::vector<Shape> shapes{
      {"first page, no filter", {.limit = 100}},
      {"deep page, no filter", {.after = middle, .limit = 100}},
      {"full page (1000), no filter", {.limit = 1000}},
      {"status=PARKED", {.status = Status::Parked, .limit = 100}},
      {"status=PARKED&participant=stock", {.status = Status::Parked, .participant = "stock", .limit = 100}},
      {"status=PARKED&older_than=1h (all match)",
       {.status = Status::Parked, .older_than = std::chrono::hours(1), .limit = 100}},
      {"status=PENDING&after=<middle of the backlog>",
       {.status = Status::Pending, .after = "pending-000010000", .limit = 100}},
      {"status=CONFIRMED", {.status = Status::Confirmed, .limit = 100}},
      {"participant=coupon&kind=order", {.kind = "order", .participant = "coupon", .limit = 100}},
  };
  double worst_p99 = 0;
  for (const auto& shape : shapes) {
    const auto warm = store.list(shape.filter);
    std::vector<double> ms;
    for (int i = 0; i < options.repeat; ++i) {
      const auto started = Clock::now();
      const auto page = store.list(shape.filter);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      if (page.transactions.size() != warm.transactions.size()) {
        std::fprintf(stderr, "list_bench: %s returned %zu rows, then %zu\n", shape.name, warm.transactions.size(),
                     page.transactions.size());
        return 1;
      }
    }
    worst_p99 = std::max(worst_p99, percentile(ms, 0.99));
    std::printf("list %-45s rows=%-4zu p50_ms=%.2f p99_ms=%.2f\n", shape.name, warm.transactions.size(),
                percentile(ms, 0.5), percentile(ms, 0.99));
  }
  std::printf("list_bench history=%lld parked=%lld backlog=%lld repeat=%d worst_p99_ms=%.2f\n", options.history,
              options.parked, options.backlog, options.repeat, worst_p99);
  return 0;
}
