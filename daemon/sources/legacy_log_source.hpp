#pragma once
// A legacy log source: a SQL query over a legacy system's own log table, polled at an interval.
// Each row becomes a transaction (source "legacy:<name>") ingested idempotently, so the same
// rows returned poll after poll change nothing.

#include "sources/legacy_log_config.hpp"
#include "store/store.hpp"

#include <chrono>
#include <memory>
#include <stop_token>
#include <vector>

namespace compensatord::sources {

// Counts of one poll. rows_seen = inserted + already_known + conflicts + rejected.
struct PollResult {
  long long rows_seen = 0;
  long long inserted = 0;
  long long already_known = 0;
  // Rows whose xid is recorded with other branches (by another source): refused, logged and counted
  // by the store (compensatord_ingest_conflicts_total).
  long long conflicts = 0;
  // Bad rows (NULL, empty, too long or not UTF-8 xid, half-NULL branch, a value not UTF-8 or over
  // 64 KiB, bad due_at, more than kMaxBranches branches): skipped, warned with the row's xid.
  long long rejected = 0;
};

class LegacyLogSource {
 public:
  // `kind_timeout` sets due_at = now + timeout for rows without a `due_at` column.
  LegacyLogSource(LegacyLogConfig config, std::chrono::milliseconds kind_timeout, store::Store& store);
  ~LegacyLogSource();
  LegacyLogSource(const LegacyLogSource&) = delete;
  LegacyLogSource& operator=(const LegacyLogSource&) = delete;

  [[nodiscard]] const std::string& name() const { return config_.name; }
  // "legacy:<name>", the transactions' source.
  [[nodiscard]] const std::string& source() const { return source_; }

  // Runs the query once and ingests every good row; a bad row is skipped and counted, never stops
  // the poll. Throws on a database or store error, a statement over config.statement_timeout included
  // (rows ingested before it stay ingested; the next poll repeats the rest).
  PollResult poll_once();

  // Polls every `interval` until `stop` is requested; errors are logged and retried next interval.
  void run(std::stop_token stop);

 private:
  struct Connection;
  Connection& connection();

  LegacyLogConfig config_;
  std::chrono::milliseconds kind_timeout_;
  store::Store& store_;
  std::string source_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace compensatord::sources
