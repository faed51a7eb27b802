#include "retention/retention_job.hpp"

#include "common/sleep.hpp"
#include "log/log.hpp"
#include "model/redact.hpp"
#include "store/connection_pool.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include <numeric>
#include <vector>

namespace compensatord::retention {
namespace {
constexpr log::Log kLog{"retention"};

// One batch of one limit, as one statement (so one short transaction of its own): the oldest $2
// rows in `statuses` whose `age` is more than $1 milliseconds ago, from $3 on. $3 is where the
// previous batch of the run ended, so each batch reads the index from there instead of stepping
// again over the entries of rows the run already deleted; a row passed over (SKIP LOCKED, below)
// is found by the next run, which starts at -infinity.
//
// Selecting and deleting in one statement is what keeps a row that stopped being deletable: FOR
// UPDATE SKIP LOCKED passes over a row another session holds (an operator's retry or decision,
// the order service's commit_transaction) instead of waiting for it, a row such a session changed
// and committed meanwhile is re-checked against the WHERE on its new version, and the DELETE
// checks status and age once more. An active row of the pending log (PENDING and the other
// statuses still being reconciled) never matches `statuses`.
std::string batch_sql(std::string_view statuses, std::string_view age) {
  return fmt::format(R"(
WITH doomed AS (
  SELECT xid FROM compensatord.transactions
   WHERE status IN ({0}) AND {1} < now() - $1::bigint * interval '1 millisecond' AND {1} >= $3::timestamptz
   ORDER BY {1}
   LIMIT $2
     FOR UPDATE SKIP LOCKED),
deleted AS (
  DELETE FROM compensatord.transactions AS t
   USING doomed
   WHERE t.xid = doomed.xid AND t.status IN ({0}) AND t.{1} < now() - $1::bigint * interval '1 millisecond'
  RETURNING t.status, t.{1} AS age)
SELECT status, count(*), (SELECT max(age) FROM deleted)::text FROM deleted GROUP BY status)",
                     statuses, age);
}

// A limit of the config with the statement that applies it; the columns and statuses are those of
// the partial indexes of 0011_retention.sql.
struct Limit {
  std::chrono::milliseconds after;
  std::string sql;
};

std::vector<Limit> limits_of(const RetentionConfig& config) {
  std::vector<Limit> limits;
  if (config.finished_after) {
    limits.push_back({*config.finished_after, batch_sql("'CONFIRMED', 'CANCELLED'", "finished_at")});
  }
  if (config.parked_after) {
    limits.push_back({*config.parked_after, batch_sql("'PARKED', 'ABANDONED'", "updated_at")});
  }
  return limits;
}

std::string by_status(const RunResult& result) {
  std::string text;
  for (const auto& [status, count] : result.deleted) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} {}", status, count);
  }
  return text;
}

class NoObserver final : public RetentionObserver {
 public:
  void retention_deleted(std::string_view, long long) override {}
  void retention_run(RunOutcome) override {}
};

}  // namespace

std::string_view to_string(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::Ok:
      return "ok";
    case RunOutcome::SkippedLock:
      return "skipped_lock";
    case RunOutcome::Error:
      break;
  }
  return "error";
}

long long RunResult::total() const {
  return std::accumulate(deleted.begin(), deleted.end(), 0LL,
                         [](long long sum, const auto& entry) { return sum + entry.second; });
}

RetentionObserver& no_retention_observer() {
  static NoObserver observer;
  return observer;
}

RetentionJob::RetentionJob(std::string dsn, store::ConnectionLimits limits, RetentionConfig config,
                           RetentionObserver& observer)
    : dsn_(std::move(dsn)), limits_(limits), config_(config), observer_(observer) {}

RetentionJob::~RetentionJob() = default;

bool RetentionJob::enabled(const RetentionConfig& config) {
  return config.finished_after.has_value() || config.parked_after.has_value();
}

RunResult RetentionJob::run_once(std::stop_token stop) {
  RunResult result;
  try {
    purge(stop, result);
    if (result.outcome == RunOutcome::SkippedLock) {
      kLog.debug("another replica holds the retention lock; skipped");
    } else if (result.total() > 0) {
      kLog.info("deleted {} transactions ({}) in {} batches{}", result.total(), by_status(result), result.batches,
                stop.stop_requested() ? ", stopped before the end" : "");
    } else {
      kLog.debug("nothing to delete");
    }
  } catch (const std::exception& e) {
    result.outcome = RunOutcome::Error;
    kLog.error("run failed after deleting {} transactions, retrying in {}: {}", result.total(), config_.interval,
               redact_secrets(e.what(), dsn_));
  }
  observer_.retention_run(result.outcome);
  return result;
}

void RetentionJob::purge(const std::stop_token& stop, RunResult& result) {
  const auto connection = store::connect(dsn_, "retention", limits_);
  // Autocommit: each batch commits on its own and holds its row locks for one statement only.
  pqxx::nontransaction work(*connection);
  if (!work.exec_params1("SELECT pg_try_advisory_lock($1)", kRetentionLockKey)[0].as<bool>()) {
    result.outcome = RunOutcome::SkippedLock;
    return;
  }
  for (const auto& limit : limits_of(config_)) {
    std::string from = "-infinity";
    while (!stop.stop_requested()) {
      const auto rows =
          work.exec_params(limit.sql, static_cast<long long>(limit.after.count()), config_.batch_size, from);
      ++result.batches;
      long long deleted = 0;
      for (const auto& row : rows) {
        const auto status = row[0].as<std::string>();
        const auto count = row[1].as<long long>();
        result.deleted[status] += count;
        deleted += count;
        from = row[2].as<std::string>();
        observer_.retention_deleted(status, count);
      }
      if (deleted < config_.batch_size) break;
      sleep_for(stop, config_.pause);
    }
  }
  // Released here, not by closing the connection: the server frees a closed session's lock only
  // when its backend has exited, and the next run (this replica's or another's) could find it held.
  // On an error the connection's close still frees it.
  work.exec_params("SELECT pg_advisory_unlock($1)", kRetentionLockKey);
}

void RetentionJob::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    run_once(stop);
    sleep_for(stop, config_.interval);
  }
}

}  // namespace compensatord::retention
