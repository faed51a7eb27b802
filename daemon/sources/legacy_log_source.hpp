#pragma once
// A legacy log source: a SQL query over a legacy system's own log table, polled at an interval.
// Each row becomes a transaction (source "legacy:<name>") ingested idempotently, so the same
// rows returned poll after poll change nothing.

#include "sources/legacy_log_config.hpp"
#include "sources/source_observer.hpp"
#include "store/store.hpp"

#include <chrono>
#include <memory>
#include <stop_token>
#include <vector>

namespace compensatord::sources {

class LegacyLogSource {
 public:
  // `kind_timeout` sets due_at = now + timeout for rows without a `due_at` column.
  LegacyLogSource(LegacyLogConfig config, std::chrono::milliseconds kind_timeout, store::IngestStore& store,
                  SourceObserver& observer = no_source_observer());
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

  // poll_once, logged and reported to the observer; a failure is logged and reported, never thrown.
  void poll();

  // poll() every `interval` until `stop` is requested.
  void run(std::stop_token stop);

 private:
  struct Connection;
  Connection& connection();

  LegacyLogConfig config_;
  std::chrono::milliseconds kind_timeout_;
  store::IngestStore& store_;
  SourceObserver& observer_;
  std::string source_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace compensatord::sources
