#include "sources/legacy_log_source.hpp"

#include "log/log.hpp"
#include "store/conninfo.hpp"

#include "common/sleep.hpp"
#include "model/redact.hpp"
#include "model/text.hpp"
#include "model/transaction.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pqxx/pqxx>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace compensatord::sources {
namespace {
constexpr log::Log kLog{"legacy_log"};

// How much of a skipped row's xid its warning shows.
constexpr std::size_t kShownXidBytes = 64;
// A branch field feeds an adapter template; a legacy column holding megabytes is a bad row.
constexpr std::size_t kMaxFieldBytes = 64 * 1024;
// Rows fetched per round trip, so a query returning millions of rows does not load them all at once.
constexpr pqxx::cursor_base::difference_type kFetchRows = 500;

// PostgreSQL type OIDs (pg_type.dat) of the columns that become JSON numbers.
constexpr pqxx::oid kInt8 = 20;
constexpr pqxx::oid kInt2 = 21;
constexpr pqxx::oid kInt4 = 23;
constexpr pqxx::oid kFloat4 = 700;
constexpr pqxx::oid kFloat8 = 701;
constexpr pqxx::oid kNumeric = 1700;

// A row that cannot become a transaction; skipped and counted, never stops the poll.
class BadRow : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Column = pqxx::row::size_type;

struct MappedBranch {
  std::string participant;
  std::vector<std::pair<std::string, Column>> fields;  // branch field -> result column
};

// Where the mapped columns are in the query's result; resolved from its column names.
struct ResultShape {
  Column xid = 0;
  std::optional<Column> due_at;
  std::vector<MappedBranch> branches;
};

std::optional<Column> find_column(const pqxx::result& result, const std::string& name) {
  for (Column c = 0; c < result.columns(); ++c) {
    if (name == result.column_name(c)) return c;
  }
  return std::nullopt;
}

// A mapped column missing from the result is a query/config mismatch that affects every row:
// an error for the whole poll, not a bad row.
ResultShape resolve_shape(const pqxx::result& result, const LegacyLogConfig& config) {
  ResultShape shape;
  auto xid = find_column(result, "xid");
  if (!xid) throw std::runtime_error("the query returns no column named 'xid'");
  shape.xid = *xid;
  shape.due_at = find_column(result, "due_at");
  for (const auto& mapping : config.branches) {
    MappedBranch branch{mapping.participant, {}};
    for (const auto& [field, column_name] : mapping.fields) {
      auto column = find_column(result, column_name);
      if (!column) {
        throw std::runtime_error(fmt::format("the query returns no column '{}' (mapped to branch field {}.{})",
                                             column_name, mapping.participant, field));
      }
      branch.fields.emplace_back(field, *column);
    }
    shape.branches.push_back(std::move(branch));
  }
  return shape;
}

std::string_view text_of(const pqxx::field& field) { return {field.c_str(), field.size()}; }

nlohmann::json number_or_text(std::string_view text) {
  std::int64_t integer = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (ec == std::errc() && end == text.data() + text.size()) return integer;
  std::string copy(text);
  char* parsed_end = nullptr;
  double real = std::strtod(copy.c_str(), &parsed_end);
  // NaN and Infinity have no JSON number; keep what the database said.
  if (parsed_end == copy.c_str() + copy.size() && std::isfinite(real)) return real;
  return copy;
}

nlohmann::json field_value(const pqxx::field& field, pqxx::oid type) {
  switch (type) {
    case kInt2:
    case kInt4:
    case kInt8:
    case kFloat4:
    case kFloat8:
    case kNumeric:
      return number_or_text(text_of(field));
    default:
      return std::string(text_of(field));
  }
}

std::string read_xid(const pqxx::row& row, Column column) {
  const pqxx::field field = row[column];
  if (field.is_null()) throw BadRow("xid is NULL");
  if (field.size() == 0) throw BadRow("xid is empty");
  if (field.size() > kMaxXidBytes) {
    throw BadRow(fmt::format("xid is {} bytes, more than {}", field.size(), kMaxXidBytes));
  }
  // An SQL_ASCII database sends whatever bytes it holds (see Connection).
  if (!valid_utf8(text_of(field))) throw BadRow("xid is not valid UTF-8");
  return std::string(text_of(field));
}

// Reads the ISO text PostgreSQL sends for timestamptz under TimeZone UTC ("2024-05-01 12:30:00.25+00")
// and for timestamp without time zone, taken as UTC.
std::optional<TimePoint> parse_utc_timestamp(const std::string& text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) !=
      6) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(text).substr(static_cast<std::size_t>(consumed));
  std::chrono::microseconds fraction{0};
  if (rest.starts_with('.')) {
    std::size_t digits = 1;
    long long micros = 0;
    for (; digits < rest.size() && digits <= 6 && std::isdigit(static_cast<unsigned char>(rest[digits])); ++digits) {
      micros = micros * 10 + (rest[digits] - '0');
    }
    for (std::size_t pad = digits; pad <= 6; ++pad) micros *= 10;
    fraction = std::chrono::microseconds(micros);
    rest.remove_prefix(digits);
  }
  if (!rest.empty() && rest != "+00" && rest != "+00:00") return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return time_point_cast<Clock::duration>(sys_days{date} + hours{hour} + minutes{minute} + seconds{second} + fraction);
}

TimePoint read_due_at(const pqxx::row& row, std::optional<Column> column, std::chrono::milliseconds kind_timeout) {
  if (!column || row[*column].is_null()) return Clock::now() + kind_timeout;
  std::string text(text_of(row[*column]));
  auto due_at = parse_utc_timestamp(text);
  if (!due_at) throw BadRow(fmt::format("due_at {:?} is not a timestamp", text.substr(0, 64)));
  return *due_at;
}

// nullopt when every mapped column is NULL: that participant took no part in this transaction.
std::optional<store::NewBranch> read_branch(const pqxx::row& row, const MappedBranch& mapping) {
  store::NewBranch branch{mapping.participant, nlohmann::json::object()};
  std::vector<std::string_view> null_columns;
  for (const auto& [field_name, column] : mapping.fields) {
    const pqxx::field field = row[column];
    if (field.is_null()) {
      null_columns.push_back(field.name());
      continue;
    }
    if (field.size() > kMaxFieldBytes) {
      throw BadRow(fmt::format("column {} is {} bytes, more than {}", field.name(), field.size(), kMaxFieldBytes));
    }
    if (!valid_utf8(text_of(field))) throw BadRow(fmt::format("column {} is not valid UTF-8", field.name()));
    branch.fields[field_name] = field_value(field, field.type());
  }
  if (null_columns.size() == mapping.fields.size()) return std::nullopt;
  if (!null_columns.empty()) {
    throw BadRow(fmt::format("branch {} has NULL in column(s) {} while others are set", mapping.participant,
                             fmt::join(null_columns, ", ")));
  }
  return branch;
}

store::NewTransaction read_transaction(const pqxx::row& row, const ResultShape& shape, const std::string& kind,
                                       const std::string& source, std::chrono::milliseconds kind_timeout) {
  store::NewTransaction txn;
  txn.xid = read_xid(row, shape.xid);
  txn.kind = kind;
  txn.source = source;
  txn.due_at = read_due_at(row, shape.due_at, kind_timeout);
  for (const auto& mapping : shape.branches) {
    if (auto branch = read_branch(row, mapping)) txn.branches.push_back(std::move(*branch));
  }
  // Refused here rather than by the store, so one such row is skipped and the poll goes on.
  if (txn.branches.size() > kMaxBranches) throw BadRow(too_many_branches(txn.branches.size()));
  return txn;
}

// How a skipped row is named in the warning: its xid when it has one, else its position. The xid is
// cut between two characters and escaped: it may be huge, or any bytes at all.
std::string row_label(const pqxx::row& row, Column xid_column, long long position) {
  const pqxx::field xid = row[xid_column];
  if (xid.is_null() || xid.size() == 0) return fmt::format("at position {}", position);
  const std::string_view shown = utf8_prefix(text_of(xid), kShownXidBytes);
  return fmt::format("with xid {:?}{}", std::string(shown), shown.size() < xid.size() ? "..." : "");
}

// The query runs inside DECLARE ... CURSOR FOR, where a trailing ';' is a syntax error.
std::string cursor_query(std::string query) {
  while (!query.empty() && (query.back() == ';' || std::isspace(static_cast<unsigned char>(query.back())))) {
    query.pop_back();
  }
  return query;
}

}  // namespace

struct LegacyLogSource::Connection {
  // The connect is bounded like the poll's statements: a legacy host that went silent must hold
  // neither the source's thread nor the daemon's shutdown for the kernel's TCP timeout.
  Connection(const std::string& dsn, std::chrono::milliseconds timeout)
      : db(store::with_connect_timeout(dsn, timeout)) {
    db.set_client_encoding(client_encoding(db));
  }
  pqxx::connection db;

 private:
  // Text should arrive as UTF-8, as the state database stores it: PostgreSQL converts a LATIN1 (or
  // other) database's text for a UTF8 client. An SQL_ASCII database cannot convert; it would check
  // each value against UTF8 instead, and one value that is not UTF-8 would fail the whole query.
  // Its bytes are taken as they are, and the rows that are not UTF-8 are skipped one by one.
  static std::string client_encoding(pqxx::connection& db) {
    return db.get_variable("server_encoding") == "SQL_ASCII" ? "SQL_ASCII" : "UTF8";
  }
};

SourceObserver& no_source_observer() {
  class NoObserver final : public SourceObserver {
   public:
    void polled(std::string_view /*source*/, const PollResult& /*result*/) override {}
    void poll_failed(std::string_view /*source*/) override {}
  };
  static NoObserver observer;
  return observer;
}

LegacyLogSource::LegacyLogSource(LegacyLogConfig config, std::chrono::milliseconds kind_timeout,
                                 store::IngestStore& store, SourceObserver& observer)
    : config_(std::move(config)),
      kind_timeout_(kind_timeout),
      store_(store),
      observer_(observer),
      source_("legacy:" + config_.name) {}

LegacyLogSource::~LegacyLogSource() = default;

LegacyLogSource::Connection& LegacyLogSource::connection() {
  if (connection_ && connection_->db.is_open()) return *connection_;
  try {
    connection_ = std::make_unique<Connection>(config_.dsn, config_.statement_timeout);
  } catch (const std::exception& e) {
    // libpq's messages may quote pieces of a malformed DSN, password included.
    throw std::runtime_error(
        fmt::format("cannot connect to the legacy database: {}", redact_secrets(e.what(), config_.dsn)));
  }
  return *connection_;
}

PollResult LegacyLogSource::poll_once() {
  PollResult result;
  try {
    // Read-only: the legacy database is someone else's, and its query must not change it.
    pqxx::read_transaction tx(connection().db, "legacy_log");
    tx.exec0("SET LOCAL TIME ZONE 'UTC'");
    tx.exec0("SET LOCAL DateStyle = 'ISO, YMD'");
    // Each statement of the poll (the cursor's every FETCH) may run this long: a hung legacy
    // database fails the poll, which is retried next interval, instead of holding the source.
    tx.exec0(fmt::format("SET LOCAL statement_timeout = {}", config_.statement_timeout.count()));
    pqxx::icursorstream rows(tx, cursor_query(config_.query), "legacy_log", kFetchRows);
    pqxx::result batch;
    while (rows >> batch) {
      const ResultShape shape = resolve_shape(batch, config_);
      for (const auto& row : batch) {
        ++result.rows_seen;
        store::NewTransaction txn;
        try {
          txn = read_transaction(row, shape, config_.kind, source_, kind_timeout_);
        } catch (const BadRow& bad) {
          ++result.rejected;
          kLog.warn({{"source", config_.name}}, "skipped the row {}: {}", row_label(row, shape.xid, result.rows_seen),
                    bad.what());
          continue;
        }
        switch (store_.ingest(txn)) {
          case store::IngestResult::Inserted:
            ++result.inserted;
            break;
          case store::IngestResult::AlreadyKnown:
            ++result.already_known;
            break;
          case store::IngestResult::Conflict:
            ++result.conflicts;
            break;
        }
      }
    }
  } catch (...) {
    // The next poll starts from a fresh connection rather than one in an unknown state.
    connection_.reset();
    throw;
  }
  return result;
}

void LegacyLogSource::poll() {
  try {
    const PollResult result = poll_once();
    kLog.log(result.inserted > 0 || result.rejected > 0 || result.conflicts > 0 ? log::Level::info : log::Level::debug,
             {{"source", config_.name}}, "{} rows, {} new, {} already known, {} conflicting, {} rejected",
             result.rows_seen, result.inserted, result.already_known, result.conflicts, result.rejected);
    observer_.polled(config_.name, result);
  } catch (const std::exception& e) {
    observer_.poll_failed(config_.name);
    kLog.error({{"source", config_.name}}, "poll failed, retrying in {}: {}", config_.interval, e.what());
  }
}

void LegacyLogSource::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    poll();
    sleep_for(stop, config_.interval);
  }
}

}  // namespace compensatord::sources
