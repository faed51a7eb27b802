#include "store/pg_store.hpp"

#include "common/shown.hpp"
#include "log/log.hpp"
#include "model/text.hpp"
#include "store/connection_pool.hpp"
#include "store/json_rows.hpp"
#include "store/migrations.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace compensatord::store {
namespace {
constexpr log::Log kLog{"store"};

using std::chrono::microseconds;

// Timestamps cross the wire as integer microseconds since the epoch: exact, and free of
// time-zone and text-format questions.
constexpr const char* kTransactionColumns = R"(
  t.xid, t.kind, t.source, t.status, t.decision, coalesce(t.decided_by, '') AS decided_by,
  (extract(epoch FROM t.created_at) * 1000000)::bigint AS created_us,
  (extract(epoch FROM coalesce(t.retried_at, t.created_at)) * 1000000)::bigint AS age_from_us,
  (extract(epoch FROM t.due_at) * 1000000)::bigint AS due_us,
  (extract(epoch FROM t.next_attempt_at) * 1000000)::bigint AS next_attempt_us,
  t.attempt_count, t.last_error, t.last_http_status, t.parked_reason, coalesce(t.lease_owner, '') AS lease_owner)";

// A transaction the reconciler has work on, due now, that no replica holds. The status list is the
// predicate of the partial index transactions_due (0001_schema.sql), word for word, so that every
// statement that looks for due rows reads that index, whose size is the work left rather than the
// history. The lease is a filter on the rows read there, not a move within the index: a claim, a
// renewal and a release set only the lease columns, none of them indexed, so each is a heap-only
// update (0016_heap_only_leases.sql) that writes no index entry.
constexpr const char* kDue =
    "status IN ('PENDING', 'COMMITTED', 'CONFIRMING', 'CANCELLING') AND next_attempt_at <= now()"
    " AND (lease_expires_at IS NULL OR lease_expires_at <= now())";

// The WHERE and ORDER BY match the partial index transactions_due (see 0001_schema.sql): the
// claim reads only the due end of the backlog, however many finished rows the table holds. Each
// claimed row gets a new fencing token (0003_fenced_leases.sql). $4 lists the xids the claiming
// replica still has in flight: a lease of its own that lapsed is not taken again under a new token.
const std::string& claim_sql() {
  static const std::string sql = std::string(R"(
WITH due AS (
  SELECT xid, lease_owner AS previous_owner
    FROM compensatord.transactions
   WHERE )") + kDue + R"(
     AND xid NOT IN (SELECT jsonb_array_elements_text($4::jsonb))
   ORDER BY next_attempt_at
   LIMIT $2
     FOR UPDATE SKIP LOCKED)
UPDATE compensatord.transactions AS t
   SET lease_owner = $1,
       lease_token = nextval('compensatord.lease_tokens'),
       lease_expires_at = now() + $3::bigint * interval '1 millisecond'
  FROM due
 WHERE t.xid = due.xid
RETURNING )" + kTransactionColumns +
                                 ",\n  t.lease_token,"
                                 "\n  due.previous_owner IS NOT NULL AND due.previous_owner <> $1 AS lease_taken_over";
  return sql;
}

const std::string& find_sql() {
  static const std::string sql =
      std::string("SELECT ") + kTransactionColumns + "\n  FROM compensatord.transactions AS t WHERE t.xid = $1";
  return sql;
}

constexpr const char* kBranchesSql = R"(
SELECT xid, branch_no, participant, fields::text AS fields, status, last_outcome, attempt_count, last_error,
       last_http_status
  FROM compensatord.branches
 WHERE xid = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))
 ORDER BY xid, branch_no)";

constexpr const char* kIngestSql = R"(
INSERT INTO compensatord.transactions (xid, kind, source, status, due_at, next_attempt_at)
VALUES ($1, $2, $3, 'PENDING', 'epoch'::timestamptz + $4::bigint * interval '1 microsecond',
        'epoch'::timestamptz + $4::bigint * interval '1 microsecond')
ON CONFLICT (xid) DO NOTHING)";

constexpr const char* kInsertBranchesSql = R"(
INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
SELECT $1, (b.ordinality - 1)::integer, b.value ->> 'participant', b.value -> 'fields'
  FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS b)";

// The source of the transaction recorded under $1 when its branches differ from $2; NULL when they
// are the same or the xid is unknown (0006_ingest_conflicts.sql). A statement of its own after the
// INSERT: it sees the row of a concurrent ingest the INSERT waited for.
constexpr const char* kConflictingSourceSql = "SELECT compensatord.conflicting_source($1, $2::jsonb)";

// $1: [{at, xid, branches}], the inputs of a batch that were not inserted. Returns the position
// `at` and the recorded source of each one whose branches differ from the recorded ones.
constexpr const char* kBatchConflictsSql = R"(
SELECT c.at, c.recorded_source
  FROM (SELECT (e ->> 'at')::integer AS at, compensatord.conflicting_source(e ->> 'xid', e -> 'branches') AS recorded_source
          FROM jsonb_array_elements($1::jsonb) AS e) AS c
 WHERE c.recorded_source IS NOT NULL)";

// One statement for a whole batch: the transactions not known yet, then the branches of exactly
// those. The rows go in in xid order, so concurrent batches take their row locks in one order.
// The input has no repeated xid (ingest_batch keeps the first occurrence).
constexpr const char* kIngestBatchSql = R"(
WITH input AS (
  SELECT t.xid, t.kind, t.source, t.due_us, t.branches
    FROM jsonb_to_recordset($1::jsonb) AS t(xid text, kind text, source text, due_us bigint, branches jsonb)),
inserted AS (
  INSERT INTO compensatord.transactions (xid, kind, source, status, due_at, next_attempt_at)
  SELECT xid, kind, source, 'PENDING', 'epoch'::timestamptz + due_us * interval '1 microsecond',
         'epoch'::timestamptz + due_us * interval '1 microsecond'
    FROM input
   ORDER BY xid
  ON CONFLICT (xid) DO NOTHING
  RETURNING xid),
new_branches AS (
  INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
  SELECT i.xid, (b.ordinality - 1)::integer, b.value ->> 'participant', b.value -> 'fields'
    FROM input AS i
    JOIN inserted USING (xid)
   CROSS JOIN LATERAL jsonb_array_elements(i.branches) WITH ORDINALITY AS b)
SELECT xid FROM inserted)";

// Every fenced write carries the lease predicate `t.lease_owner = r.owner AND t.lease_token =
// r.token AND t.lease_expires_at > now()`: the row is still ours, under this claim's token, and the
// lease has not run out by the database's clock, the one clock every replica shares.
//
// A batch arrives as one jsonb document. Joined to it alone, the table is planned for a function
// of unknown size and read whole on every batch (a hash or nested-loop join over a sequential
// scan); `t.xid = ANY (ARRAY(SELECT ... the batch's xids))` makes it a primary-key lookup per row,
// whatever the size of the backlog or of the finished history.

// $1: [{xid, owner, token, decision}]; $2: the calls of those decisions, as kStartCallsSql's $1;
// $3: the checks that asked for them, [{xid, replica, started_us, request_summary, outcome,
// http_status, latency_ms, error}]. Returns the rows whose compare-and-set we won (attempt_id null),
// then the calls recorded as started for them (attempt_id set): a check and a call are recorded only
// with the decision they lead to or carry out, each check before its decision's calls.
constexpr const char* kDecideSql = R"(
WITH decided AS (
  UPDATE compensatord.transactions AS t
     SET status = CASE r.decision WHEN 'confirm' THEN 'CONFIRMING' ELSE 'CANCELLING' END,
         decision = r.decision, decided_by = r.owner, decided_at = now(), updated_at = now()
    FROM jsonb_to_recordset($1::jsonb) AS r(xid text, owner text, token bigint, decision text)
   WHERE t.xid = r.xid AND t.xid = ANY (ARRAY(SELECT e ->> 'xid' FROM jsonb_array_elements($1::jsonb) AS e))
     AND t.status = 'PENDING' AND t.lease_owner = r.owner AND t.lease_token = r.token
     AND t.lease_expires_at > now()
  RETURNING t.xid, t.status, t.decision),
recorded AS (
  INSERT INTO compensatord.attempts
         (xid, branch_no, action, replica, started_at, request_summary, outcome, http_status, latency_ms, error)
  SELECT a.xid, a.branch_no, a.action, a.replica, 'epoch'::timestamptz + a.started_us * interval '1 microsecond',
         a.request_summary, a.outcome, a.http_status, a.latency_ms, a.error
    FROM (SELECT k.xid, NULL::integer AS branch_no, 'check' AS action, k.replica, k.started_us, k.request_summary,
                 k.outcome, k.http_status, k.latency_ms, k.error, 0 AS position
            FROM jsonb_to_recordset($3::jsonb)
                 AS k(xid text, replica text, started_us bigint, request_summary text, outcome text,
                      http_status integer, latency_ms bigint, error text)
            JOIN decided AS d ON d.xid = k.xid
          UNION ALL
          SELECT c.xid, c.branch_no, c.action, c.replica, c.started_us, '', 'started', NULL, 0, '', 1
            FROM jsonb_to_recordset($2::jsonb)
                 AS c(xid text, branch_no integer, action text, replica text, started_us bigint)
            JOIN decided AS d ON d.xid = c.xid AND d.decision = c.action) AS a
   ORDER BY a.position
  RETURNING id, xid, branch_no, action)
SELECT xid, status, NULL::bigint AS attempt_id, NULL::integer AS branch_no FROM decided
UNION ALL
SELECT xid, NULL, id, branch_no FROM recorded WHERE action <> 'check')";

// $1: [{xid, owner, token, branch_no, action, replica, started_us}], one per call. Records the calls
// of the transactions whose lease holds as started attempts (0008_started_calls.sql) and returns
// them; a transaction whose lease is lost gets none.
constexpr const char* kStartCallsSql = R"(
WITH calls AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS c(xid text, owner text, token bigint, branch_no integer, action text, replica text, started_us bigint)),
held AS (
  SELECT t.xid, t.lease_owner, t.lease_token FROM compensatord.transactions AS t
   WHERE t.xid = ANY (ARRAY(SELECT DISTINCT xid FROM calls)) AND t.lease_expires_at > now())
INSERT INTO compensatord.attempts (xid, branch_no, action, replica, started_at, outcome)
SELECT c.xid, c.branch_no, c.action, c.replica, 'epoch'::timestamptz + c.started_us * interval '1 microsecond',
       'started'
  FROM calls AS c JOIN held AS h ON h.xid = c.xid AND h.lease_owner = c.owner AND h.lease_token = c.token
RETURNING id, xid, branch_no)";

// $1 rows, $2 branch updates, $3 attempts (0008_started_calls.sql). Returns the xids written.
constexpr const char* kWriteBackSql = "SELECT compensatord.write_back($1::jsonb, $2::jsonb, $3::jsonb)";

// Read in a statement of its own, after the decide: it sees a commit the order service made
// while the decide waited for the row.
constexpr const char* kDecisionInForceSql = R"(
SELECT r.xid, t.status, t.decision,
       coalesce(t.lease_owner = r.owner AND t.lease_token = r.token AND t.lease_expires_at > now(), false) AS held
  FROM jsonb_to_recordset($1::jsonb) AS r(xid text, owner text, token bigint, decision text)
  LEFT JOIN compensatord.transactions AS t
         ON t.xid = r.xid AND t.xid = ANY (ARRAY(SELECT e ->> 'xid' FROM jsonb_array_elements($1::jsonb) AS e)))";

// $1 owner, $2 lease in milliseconds, $3 [{xid, token}]. Returns the xids renewed.
constexpr const char* kRenewSql = R"(
UPDATE compensatord.transactions AS t
   SET lease_expires_at = now() + $2::bigint * interval '1 millisecond'
  FROM jsonb_to_recordset($3::jsonb) AS r(xid text, token bigint)
 WHERE t.xid = r.xid AND t.xid = ANY (ARRAY(SELECT e ->> 'xid' FROM jsonb_array_elements($3::jsonb) AS e))
   AND t.lease_owner = $1 AND t.lease_token = r.token AND t.lease_expires_at > now()
RETURNING t.xid)";

// $1 owner, $2 [{xid, token}]: a lease that was lost meanwhile stays with its new owner. The row is
// due again at once: its next_attempt_at had passed when it was claimed.
constexpr const char* kReleaseSql = R"(
UPDATE compensatord.transactions AS t
   SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
  FROM jsonb_to_recordset($2::jsonb) AS r(xid text, token bigint)
 WHERE t.xid = r.xid AND t.xid = ANY (ARRAY(SELECT e ->> 'xid' FROM jsonb_array_elements($2::jsonb) AS e))
   AND t.lease_owner = $1 AND t.lease_token = r.token)";

constexpr const char* kAttemptsSql = R"(
SELECT id, xid, branch_no, action, replica, (extract(epoch FROM started_at) * 1000000)::bigint AS started_us,
       request_summary, outcome, http_status, latency_ms, error
  FROM compensatord.attempts WHERE xid = $1 ORDER BY started_at, id)";

constexpr const char* kAttemptPageSql = R"(
SELECT id, xid, branch_no, action, replica, (extract(epoch FROM started_at) * 1000000)::bigint AS started_us,
       request_summary, outcome, http_status, latency_ms, error
  FROM compensatord.attempts WHERE xid = $1 AND id > $2 ORDER BY id LIMIT $3)";

constexpr const char* kAdminActionsSql = R"(
SELECT id, action, actor, reason, (extract(epoch FROM at) * 1000000)::bigint AS at_us, before::text AS before,
       after::text AS after
  FROM compensatord.admin_actions WHERE xid = $1 ORDER BY id)";

// Each filter that is not set is a constant true once PostgreSQL plans the statement with its
// parameters (an unnamed statement gets a custom plan), so a status filter reaches the partial index
// transactions_unfinished_by_status and no filter at all reads the primary key in xid order. The
// participant filter is the exception, written into the statement only when set: PostgreSQL turns
// an EXISTS into a semi join (one branch lookup per row read) only when it stands alone in the
// WHERE clause, and plans one under an OR ("$7 = '' OR EXISTS ...") as a hashed subplan that
// reads every branch of that participant, seconds on a long history.
const std::string& page_sql(bool by_participant) {
  static const auto build = [](bool participant) {
    return std::string("SELECT ") + kTransactionColumns + R"(
  FROM compensatord.transactions AS t
 WHERE t.xid > $1
   AND ($2 = '' OR t.status = $2)
   AND ($3 = '' OR t.kind = $3)
   AND ($4 = '' OR t.source = $4)
   AND ($5::bigint = 0 OR t.created_at <= now() - $5::bigint * interval '1 millisecond'))" +
           (participant ? R"(
   AND EXISTS (SELECT 1 FROM compensatord.branches AS b WHERE b.xid = t.xid AND b.participant = $7))"
                        : "") +
           R"(
 ORDER BY t.xid
 LIMIT $6)";
  };
  static const std::string any_participant = build(false);
  static const std::string one_participant = build(true);
  return by_participant ? one_participant : any_participant;
}

constexpr const char* kCountByStatusSql = "SELECT status, count(*) FROM compensatord.transactions GROUP BY status";

const std::string& count_due_sql() {
  static const std::string sql = std::string("SELECT count(*) FROM compensatord.transactions WHERE ") + kDue;
  return sql;
}

// min() over the partial index's key with its predicate: an index scan that reads one entry.
const std::string& oldest_due_age_sql() {
  static const std::string sql = std::string(R"(
SELECT coalesce((extract(epoch FROM now() - min(next_attempt_at)) * 1000)::bigint, 0)
  FROM compensatord.transactions
 WHERE )") + kDue;
  return sql;
}

constexpr const char* kMigrationsTableSql = "SELECT to_regclass('compensatord.schema_migrations') IS NOT NULL";
constexpr const char* kSchemaVersionSql = "SELECT coalesce(max(version), 0) FROM compensatord.schema_migrations";

constexpr std::size_t kShownLength = 80;
constexpr std::size_t kMessageLength = 500;

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string cut(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return fmt::format("{}... ({} bytes)", utf8_prefix(text, limit), text.size());
}

// The server's first line only: the DETAIL of a constraint violation repeats the whole row,
// which may be megabytes of hostile text or business data.
std::string server_message(std::string_view what) {
  const auto line_end = what.find('\n');
  return cut(what.substr(0, line_end), kMessageLength);
}

void require_text(std::string_view operation, std::string_view key, const std::string& value) {
  if (value.find('\0') != std::string::npos) {
    throw StoreError(fmt::format("{}: {} contains a NUL character, which PostgreSQL text cannot hold", operation, key));
  }
}

void require_nonempty(std::string_view operation, std::string_view key, const std::string& value) {
  require_text(operation, key, value);
  if (value.empty()) throw StoreError(fmt::format("{}: {} must not be empty", operation, key));
}

void require_admin_request(std::string_view operation, const AdminRequest& request) {
  require_text(operation, "xid", request.xid);
  require_nonempty(operation, "actor", request.actor);
  require_text(operation, "reason", request.reason);
}

void require_page_size(std::string_view operation, int limit) {
  if (limit < 1 || limit > kMaxPageSize) {
    throw StoreError(fmt::format("{}: limit must be between 1 and {}, not {}", operation, kMaxPageSize, limit));
  }
}

long long to_micros(TimePoint t) { return std::chrono::duration_cast<microseconds>(t.time_since_epoch()).count(); }

TimePoint from_micros(const pqxx::field& field) {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(microseconds(field.as<long long>())));
}

template <typename Enum>
Enum parsed(std::optional<Enum> (*parse)(std::string_view), const pqxx::field& field) {
  const auto text = field.as<std::string>();
  const auto value = parse(text);
  if (!value) throw StoreError(fmt::format("unknown {} {} in the database", field.name(), shown(text, kShownLength)));
  return *value;
}

template <typename Enum>
std::optional<Enum> parsed_optional(std::optional<Enum> (*parse)(std::string_view), const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return parsed(parse, field);
}

AttemptOutcome outcome_of(AttemptAction action, const pqxx::field& field) {
  const auto text = field.as<std::string>();
  const auto outcome = parse_attempt_outcome(action, text);
  if (!outcome) {
    throw StoreError(
        fmt::format("unknown outcome {} of a {} in the database", shown(text, kShownLength), to_string(action)));
  }
  return *outcome;
}

Transaction transaction_from(const pqxx::row& row) {
  Transaction t;
  t.xid = row["xid"].as<std::string>();
  t.kind = row["kind"].as<std::string>();
  t.source = row["source"].as<std::string>();
  t.status = parsed(parse_status, row["status"]);
  t.decision = parsed_optional(parse_decision, row["decision"]);
  t.decided_by = row["decided_by"].as<std::string>();
  t.created_at = from_micros(row["created_us"]);
  t.age_from = from_micros(row["age_from_us"]);
  t.due_at = from_micros(row["due_us"]);
  t.next_attempt_at = from_micros(row["next_attempt_us"]);
  t.attempt_count = row["attempt_count"].as<int>();
  t.last_error = row["last_error"].as<std::string>();
  t.last_http_status = row["last_http_status"].as<std::optional<int>>();
  t.parked_reason = row["parked_reason"].as<std::string>();
  t.lease_owner = row["lease_owner"].as<std::string>();
  return t;
}

Branch branch_from(const pqxx::row& row) {
  Branch b;
  b.no = row["branch_no"].as<int>();
  b.participant = row["participant"].as<std::string>();
  b.fields = nlohmann::json::parse(row["fields"].as<std::string>());
  b.status = parsed(parse_branch_status, row["status"]);
  b.last_outcome = parsed_optional(parse_outcome, row["last_outcome"]);
  b.attempt_count = row["attempt_count"].as<int>();
  b.last_error = row["last_error"].as<std::string>();
  b.last_http_status = row["last_http_status"].as<std::optional<int>>();
  return b;
}

Attempt attempt_from(const pqxx::row& row) {
  Attempt a;
  a.xid = row["xid"].as<std::string>();
  a.branch_no = row["branch_no"].as<std::optional<int>>();
  a.action = parsed(parse_attempt_action, row["action"]);
  a.replica = row["replica"].as<std::string>();
  a.started_at = from_micros(row["started_us"]);
  a.request_summary = row["request_summary"].as<std::string>();
  a.outcome = outcome_of(a.action, row["outcome"]);
  a.http_status = row["http_status"].as<std::optional<int>>();
  a.latency = std::chrono::milliseconds(row["latency_ms"].as<long long>());
  a.error = row["error"].as<std::string>();
  a.id = row["id"].as<std::int64_t>();
  return a;
}

void attach_branches(pqxx::transaction_base& work, std::vector<Transaction>& transactions) {
  if (transactions.empty()) return;
  std::unordered_map<std::string, Transaction*> by_xid;
  std::vector<std::string> xids;
  for (auto& t : transactions) {
    by_xid.emplace(t.xid, &t);
    xids.push_back(t.xid);
  }
  for (const auto& row : work.exec_params(kBranchesSql, json_string_array(xids))) {
    by_xid.at(row["xid"].as<std::string>())->branches.push_back(branch_from(row));
  }
}

void require_branch_cap(std::string_view operation, std::size_t count) {
  if (count > kMaxBranches) throw StoreError(fmt::format("{}: {}", operation, too_many_branches(count)));
}

nlohmann::json branches_json(std::string_view operation, const std::vector<NewBranch>& branches) {
  require_branch_cap(operation, branches.size());
  auto document = nlohmann::json::array();
  for (std::size_t i = 0; i < branches.size(); ++i) {
    const auto& branch = branches[i];
    require_nonempty(operation, fmt::format("branch {} participant", i), branch.participant);
    if (!branch.fields.is_object()) {
      throw StoreError(fmt::format("{}: branch {} ({}) fields must be a JSON object, got {}", operation, i,
                                   shown(branch.participant, kShownLength), branch.fields.type_name()));
    }
    document.push_back({{"participant", branch.participant}, {"fields", branch.fields}});
  }
  return document;
}

std::string branches_document(std::string_view operation, const std::vector<NewBranch>& branches) {
  try {
    return branches_json(operation, branches).dump();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(fmt::format("{}: branches are not valid UTF-8 JSON: {}", operation, e.what()));
  }
}

// One element of kIngestBatchSql's input, checked like ingest() checks its transaction.
std::string batch_element(const NewTransaction& txn) {
  const auto operation = fmt::format("ingest_batch {}", shown(txn.xid, kShownLength));
  require_nonempty(operation, "xid", txn.xid);
  require_text(operation, "kind", txn.kind);
  require_text(operation, "source", txn.source);
  const nlohmann::json element{{"xid", txn.xid},
                               {"kind", txn.kind},
                               {"source", txn.source},
                               {"due_us", to_micros(txn.due_at)},
                               {"branches", branches_json(operation, txn.branches)}};
  try {
    return element.dump();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(fmt::format("{}: not valid UTF-8 JSON: {}", operation, e.what()));
  }
}

// The batch as kIngestBatchSql's input, without repeated xids; `first` tells, per input, whether
// it is the first occurrence of its xid (the only one that can be Inserted). Repeats are checked
// too: a refused transaction refuses the batch wherever it stands.
std::string batch_document(const std::vector<NewTransaction>& txns, std::vector<bool>& first) {
  std::unordered_set<std::string_view> seen;
  std::string document = "[";
  first.reserve(txns.size());
  for (const auto& txn : txns) {
    auto element = batch_element(txn);
    const bool is_first = seen.insert(txn.xid).second;
    first.push_back(is_first);
    if (!is_first) continue;
    if (document.size() > 1) document += ',';
    document += element;
  }
  document += ']';
  return document;
}

// Diagnostics (errors, request summaries) come from participants and may hold any bytes: JsonRows
// stores them with invalid UTF-8 and NUL replaced by U+FFFD rather than lose the whole write-back.
void add_branch_updates(JsonRows& document, const WriteBack& result) {
  for (const auto& u : result.branches) {
    document.row().text("xid", result.xid).number("branch_no", u.no).text("status", to_string(u.status));
    if (u.outcome) {
      document.text("outcome", to_string(*u.outcome));
    } else {
      document.null("outcome");
    }
    document.text("error", u.error).number("http_status", u.http_status);
  }
}

// The fields of attempt `a` of `xid` in the current row, as write_back's p_attempts and kDecideSql's
// $3 read them.
void add_attempt_fields(JsonRows& document, const std::string& xid, const Attempt& a) {
  document.text("xid", xid)
      .number("branch_no", a.branch_no)
      .text("action", to_string(a.action))
      .text("replica", a.replica)
      .number("started_us", to_micros(a.started_at))
      .text("request_summary", a.request_summary)
      .text("outcome", to_string(a.outcome))
      .number("http_status", a.http_status)
      .number("latency_ms", static_cast<long long>(a.latency.count()))
      .text("error", a.error);
}

void add_attempts(JsonRows& document, std::string_view operation, const WriteBack& result) {
  for (const auto& a : result.attempts) {
    if (!a.xid.empty() && a.xid != result.xid) {
      throw StoreError(
          fmt::format("{}: an attempt names another transaction {}", operation, shown(a.xid, kShownLength)));
    }
    if (!fits(a.action, a.outcome)) {
      throw StoreError(
          fmt::format("{}: a {} attempt cannot end {}", operation, to_string(a.action), to_string(a.outcome)));
    }
    document.row();
    if (a.id) document.number("id", static_cast<long long>(*a.id));
    add_attempt_fields(document, result.xid, a);
  }
}

void add_write_back_row(JsonRows& document, const WriteBack& result) {
  document.row()
      .text("xid", result.xid)
      .text("owner", result.lease.owner)
      .number("token", static_cast<long long>(result.lease.token))
      .text("expected", to_string(result.expected_status))
      .text("status", to_string(result.status))
      .number("attempt_count", static_cast<long long>(result.attempt_count))
      .text("last_error", result.last_error)
      .number("last_http_status", result.last_http_status)
      .text("parked_reason", result.parked_reason)
      .number("requeue_ms", static_cast<long long>(result.requeue_after.count()));
}

std::string leases_document(std::string_view operation, const std::vector<LeasedXid>& leases) {
  JsonRows document;
  for (const auto& leased : leases) {
    require_nonempty(operation, "xid", leased.xid);
    if (leased.lease.owner != leases.front().lease.owner) {
      throw StoreError(fmt::format("{}: leases of two owners, {} and {}", operation,
                                   shown(leases.front().lease.owner, kShownLength),
                                   shown(leased.lease.owner, kShownLength)));
    }
    document.row().text("xid", leased.xid).number("token", static_cast<long long>(leased.lease.token));
  }
  return std::move(document).finish();
}

// Adds one row per call of `xid` (kStartCallsSql's $1, kDecideSql's $2).
void add_started_calls(JsonRows& document, std::string_view operation, const std::string& xid, const Lease& lease,
                       const std::vector<Attempt>& calls) {
  for (const auto& call : calls) {
    if (!call.branch_no)
      throw StoreError(fmt::format("{}: a call of {} names no branch", operation, shown(xid, kShownLength)));
    document.row()
        .text("xid", xid)
        .text("owner", lease.owner)
        .number("token", static_cast<long long>(lease.token))
        .number("branch_no", call.branch_no)
        .text("action", to_string(call.action))
        .text("replica", call.replica)
        .number("started_us", to_micros(call.started_at));
  }
}

std::string start_calls_document(std::string_view operation, const std::vector<CallsStart>& requests) {
  JsonRows document;
  for (const auto& r : requests) {
    require_nonempty(operation, "xid", r.xid);
    require_nonempty(operation, "owner", r.lease.owner);
    add_started_calls(document, operation, r.xid, r.lease, r.calls);
  }
  return std::move(document).finish();
}

struct DecideDocuments {
  std::string decisions;
  std::string calls;
  std::string checks;
};

// Adds the check a decision of `xid` was asked by (kDecideSql's $3).
void add_decision_check(JsonRows& document, std::string_view operation, const std::string& xid, const Attempt& check) {
  if (check.action != AttemptAction::Check || !fits(check.action, check.outcome)) {
    throw StoreError(fmt::format("{}: the check of {} is a {} attempt ending {}", operation, shown(xid, kShownLength),
                                 to_string(check.action), to_string(check.outcome)));
  }
  if (check.branch_no) {
    throw StoreError(
        fmt::format("{}: the check of {} names branch {}", operation, shown(xid, kShownLength), *check.branch_no));
  }
  add_attempt_fields(document.row(), xid, check);
}

DecideDocuments decide_documents(std::string_view operation, const std::vector<DecideRequest>& requests) {
  JsonRows decisions;
  JsonRows calls;
  JsonRows checks;
  for (const auto& r : requests) {
    require_nonempty(operation, "xid", r.xid);
    require_nonempty(operation, "owner", r.lease.owner);
    decisions.row()
        .text("xid", r.xid)
        .text("owner", r.lease.owner)
        .number("token", static_cast<long long>(r.lease.token))
        .text("decision", to_string(r.decision));
    for (const auto& call : r.calls) {
      if (call.action != action_of(r.decision))
        throw StoreError(fmt::format("{}: a {} call of {} under decision {}", operation, to_string(call.action),
                                     shown(r.xid, kShownLength), to_string(r.decision)));
    }
    add_started_calls(calls, operation, r.xid, r.lease, r.calls);
    if (r.check) add_decision_check(checks, operation, r.xid, *r.check);
  }
  return {std::move(decisions).finish(), std::move(calls).finish(), std::move(checks).finish()};
}

// The inputs of a batch that were not inserted, with their positions, for kBatchConflictsSql.
std::string not_inserted_document(const std::vector<NewTransaction>& txns, const std::vector<bool>& inserted) {
  auto document = nlohmann::json::array();
  for (std::size_t at = 0; at < txns.size(); ++at) {
    if (inserted[at]) continue;
    const auto& txn = txns[at];
    document.push_back({{"at", at}, {"xid", txn.xid}, {"branches", branches_json("ingest_batch", txn.branches)}});
  }
  return document.dump();
}

// A refused ingest: the recorded transaction stands, and an operator sees which source lost.
void report_conflict(const PgStoreOptions& options, const NewTransaction& txn, std::string_view recorded_source) {
  kLog.warn({{"xid", txn.xid}, {"source", txn.source}, {"recorded_by", recorded_source}},
            "ingest refused: the xid is recorded with other branches; the recorded ones stand");
  options.on_ingest_conflict(txn.source);
}

// Runs `body` on a pooled connection; every failure leaves as a StoreError naming `operation`.
// A connection that broke is dropped so that the next use reconnects.
template <typename Body>
auto run(ConnectionPool& pool, std::string_view operation, Body&& body) {
  auto handle = pool.acquire(operation);
  try {
    return body(*handle);
  } catch (const StoreError&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    handle.discard();
    throw StoreError(fmt::format("{}: lost the PostgreSQL connection: {}", operation, server_message(e.what())));
  } catch (const std::exception& e) {
    if (!(*handle).is_open()) handle.discard();
    throw StoreError(fmt::format("{}: {}", operation, server_message(e.what())));
  }
}

// The decision in force for each request the compare-and-set did not win: the earlier
// decision, the order service's commit, or a lost lease.
std::unordered_map<std::string, DecideResult> decisions_in_force(pqxx::transaction_base& work,
                                                                 const std::string& requests) {
  std::unordered_map<std::string, DecideResult> found;
  for (const auto& row : work.exec_params(kDecisionInForceSql, requests)) {
    DecideResult result;
    result.lease_lost = !row["held"].as<bool>();
    if (!row["status"].is_null()) {
      result.status = parsed(parse_status, row["status"]);
      result.decision = parsed_optional(parse_decision, row["decision"]);
    }
    found.insert_or_assign(row["xid"].as<std::string>(), result);
  }
  return found;
}

// A retry or an abandon: `sql` runs one of the admin_* functions of 0009/0010, which answer the
// outcome ('retried' or 'abandoned' when applied, else 'unknown', 'finished' or 'in_flight') and the
// status afterwards.
ActionResult admin_action(ConnectionPool& pool, std::string_view action, const char* sql, const AdminRequest& request) {
  const auto operation = fmt::format("{} {}", action, shown(request.xid, kShownLength));
  require_admin_request(operation, request);
  return run(pool, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    const auto row = work.exec_params1(sql, request.xid, request.actor, request.reason);
    work.commit();
    const auto outcome = row["outcome"].as<std::string>();
    ActionResult result;
    result.status = parsed_optional(parse_status, row["status"]);
    if (outcome == "retried" || outcome == "abandoned") {
      result.outcome = ActionOutcome::Applied;
    } else if (outcome == "finished") {
      result.outcome = ActionOutcome::Finished;
    } else if (outcome == "in_flight") {
      result.outcome = ActionOutcome::InFlight;
    }
    return result;
  });
}

}  // namespace

std::string_view claim_due_sql() { return claim_sql(); }
std::string_view list_sql(bool by_participant) { return page_sql(by_participant); }

PgStore::PgStore(std::string dsn, PgStoreOptions options)
    : dsn_(std::move(dsn)),
      options_(std::move(options)),
      pool_(std::make_unique<ConnectionPool>(dsn_, options_.pool_size, options_.acquire_timeout, options_.limits)) {}

PgStore::~PgStore() = default;

std::vector<int> PgStore::migrate() { return store::migrate(dsn_, options_.limits.connect_timeout); }

IngestResult PgStore::ingest(const NewTransaction& txn) {
  const auto operation = fmt::format("ingest {}", shown(txn.xid, kShownLength));
  require_nonempty(operation, "xid", txn.xid);
  require_text(operation, "kind", txn.kind);
  require_text(operation, "source", txn.source);
  const auto branches = branches_document(operation, txn.branches);
  std::optional<std::string> recorded_source;
  const auto result = run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    if (work.exec_params(kIngestSql, txn.xid, txn.kind, txn.source, to_micros(txn.due_at)).affected_rows() == 0) {
      recorded_source = work.exec_params1(kConflictingSourceSql, txn.xid, branches)[0].as<std::optional<std::string>>();
      return recorded_source ? IngestResult::Conflict : IngestResult::AlreadyKnown;
    }
    work.exec_params0(kInsertBranchesSql, txn.xid, branches);
    work.commit();
    return IngestResult::Inserted;
  });
  if (result == IngestResult::Conflict) report_conflict(options_, txn, *recorded_source);
  return result;
}

std::vector<IngestResult> PgStore::ingest_batch(const std::vector<NewTransaction>& txns) {
  if (txns.empty()) return {};
  std::vector<bool> first;
  const auto document = batch_document(txns, first);
  const auto operation = fmt::format("ingest_batch of {} transactions", txns.size());
  std::vector<IngestResult> results;
  std::map<std::size_t, std::string> conflicts;  // position -> recorded source
  run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    std::unordered_set<std::string> xids;
    for (const auto& row : work.exec_params(kIngestBatchSql, document)) xids.insert(row[0].as<std::string>());
    std::vector<bool> inserted;
    for (std::size_t i = 0; i < txns.size(); ++i) inserted.push_back(first[i] && xids.contains(txns[i].xid));
    // Only the inputs not inserted are compared, and only when there are some: re-deliveries.
    if (std::find(inserted.begin(), inserted.end(), false) != inserted.end()) {
      for (const auto& row : work.exec_params(kBatchConflictsSql, not_inserted_document(txns, inserted))) {
        conflicts.emplace(row[0].as<std::size_t>(), row[1].as<std::string>());
      }
    }
    work.commit();
    for (std::size_t i = 0; i < txns.size(); ++i) {
      results.push_back(inserted[i]             ? IngestResult::Inserted
                        : conflicts.contains(i) ? IngestResult::Conflict
                                                : IngestResult::AlreadyKnown);
    }
  });
  for (const auto& [at, recorded_source] : conflicts) report_conflict(options_, txns[at], recorded_source);
  return results;
}

std::vector<Transaction> PgStore::claim_due(const ClaimRequest& request) {
  const auto operation = fmt::format("claim_due for {}", shown(request.owner, kShownLength));
  require_nonempty(operation, "owner", request.owner);
  if (request.limit < 1)
    throw StoreError(fmt::format("{}: limit must be at least 1, got {}", operation, request.limit));
  if (request.lease.count() < 1) {
    throw StoreError(fmt::format("{}: lease must be positive, got {} ms", operation, request.lease.count()));
  }
  for (const auto& xid : request.exclude) require_text(operation, "excluded xid", xid);
  const auto exclude = json_string_array(request.exclude);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    std::vector<Transaction> claimed;
    for (const auto& row : work.exec_params(claim_sql(), request.owner, request.limit,
                                            static_cast<long long>(request.lease.count()), exclude)) {
      claimed.push_back(transaction_from(row));
      claimed.back().lease_token = row["lease_token"].as<std::int64_t>();
      claimed.back().lease_taken_over = row["lease_taken_over"].as<bool>();
    }
    attach_branches(work, claimed);
    work.commit();
    return claimed;
  });
}

std::vector<DecideResult> PgStore::decide_all(const std::vector<DecideRequest>& requests) {
  const auto operation = requests.size() == 1 ? fmt::format("decide {}", shown(requests.front().xid, kShownLength))
                                              : fmt::format("decide {} transactions", requests.size());
  if (requests.empty()) return {};
  const auto documents = decide_documents(operation, requests);
  // Autocommit: the compare-and-set and its calls are one statement, and the decisions it won are
  // committed before the decisions in force are read (only when it did not win them all): one round
  // trip, or two.
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    std::unordered_map<std::string, Status> won;
    std::map<std::pair<std::string, int>, std::int64_t> started;
    for (const auto& row : work.exec_params(kDecideSql, documents.decisions, documents.calls, documents.checks)) {
      if (row["attempt_id"].is_null()) {
        won.emplace(row["xid"].as<std::string>(), parsed(parse_status, row["status"]));
      } else {
        started.emplace(std::pair{row["xid"].as<std::string>(), row["branch_no"].as<int>()},
                        row["attempt_id"].as<std::int64_t>());
      }
    }
    std::unordered_map<std::string, DecideResult> in_force;
    if (won.size() < requests.size()) in_force = decisions_in_force(work, documents.decisions);
    std::vector<DecideResult> results;
    for (const auto& request : requests) {
      DecideResult result;
      if (auto ours = won.find(request.xid); ours != won.end()) {
        result.decided_by_us = true;
        result.decision = request.decision;
        result.status = ours->second;
        for (const auto& call : request.calls) {
          auto id = started.find({request.xid, *call.branch_no});
          if (id == started.end())
            throw StoreError(fmt::format("{}: the decision of {} was taken but its call of branch {} not recorded",
                                         operation, shown(request.xid, kShownLength), *call.branch_no));
          result.attempt_ids.push_back(id->second);
        }
      } else if (auto other = in_force.find(request.xid); other != in_force.end()) {
        result = other->second;
      } else {
        result.lease_lost = true;
      }
      results.push_back(result);
    }
    return results;
  });
}

std::vector<StartedCalls> PgStore::start_calls_all(const std::vector<CallsStart>& requests) {
  const auto operation = requests.size() == 1 ? fmt::format("start_calls {}", shown(requests.front().xid, kShownLength))
                                              : fmt::format("start_calls of {} transactions", requests.size());
  if (requests.empty()) return {};
  const auto document = start_calls_document(operation, requests);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    std::map<std::pair<std::string, int>, std::int64_t> started;
    for (const auto& row : work.exec_params(kStartCallsSql, document)) {
      started.emplace(std::pair{row["xid"].as<std::string>(), row["branch_no"].as<int>()},
                      row["id"].as<std::int64_t>());
    }
    std::vector<StartedCalls> results;
    for (const auto& request : requests) {
      StartedCalls result;
      for (const auto& call : request.calls) {
        auto id = started.find({request.xid, *call.branch_no});
        if (id == started.end()) break;
        result.attempt_ids.push_back(id->second);
      }
      result.lease_lost = result.attempt_ids.size() != request.calls.size();
      if (result.lease_lost) result.attempt_ids.clear();
      results.push_back(std::move(result));
    }
    return results;
  });
}

std::vector<bool> PgStore::write_back_all(const std::vector<WriteBack>& results) {
  const auto operation = results.size() == 1 ? fmt::format("write_back {}", shown(results.front().xid, kShownLength))
                                             : fmt::format("write_back {} transactions", results.size());
  if (results.empty()) return {};
  JsonRows rows;
  JsonRows branches;
  JsonRows attempts;
  for (const auto& result : results) {
    require_nonempty(operation, "xid", result.xid);
    require_nonempty(operation, "owner", result.lease.owner);
    add_write_back_row(rows, result);
    add_branch_updates(branches, result);
    add_attempts(attempts, operation, result);
  }
  const auto rows_document = std::move(rows).finish();
  const auto branches_document = std::move(branches).finish();
  const auto attempts_document = std::move(attempts).finish();
  // One statement, in autocommit: the function is the transaction (0005_write_back_function.sql).
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    std::unordered_set<std::string> written;
    for (const auto& row : work.exec_params(kWriteBackSql, rows_document, branches_document, attempts_document)) {
      written.insert(row[0].as<std::string>());
    }
    std::vector<bool> flags;
    for (const auto& result : results) flags.push_back(written.contains(result.xid));
    return flags;
  });
}

std::vector<std::string> PgStore::renew(const std::vector<LeasedXid>& leases, std::chrono::milliseconds lease) {
  const auto operation = fmt::format("renew {} leases", leases.size());
  if (leases.empty()) return {};
  const std::string& owner = leases.front().lease.owner;
  require_nonempty(operation, "owner", owner);
  if (lease.count() < 1)
    throw StoreError(fmt::format("{}: lease must be positive, got {} ms", operation, lease.count()));
  const auto document = leases_document(operation, leases);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    std::unordered_set<std::string> renewed;
    for (const auto& row : work.exec_params(kRenewSql, owner, static_cast<long long>(lease.count()), document)) {
      renewed.insert(row[0].as<std::string>());
    }
    work.commit();
    std::vector<std::string> lost;
    for (const auto& leased : leases) {
      if (!renewed.contains(leased.xid)) lost.push_back(leased.xid);
    }
    return lost;
  });
}

void PgStore::release(const std::vector<LeasedXid>& leases) {
  const auto operation = fmt::format("release {} leases", leases.size());
  if (leases.empty()) return;
  const std::string& owner = leases.front().lease.owner;
  require_nonempty(operation, "owner", owner);
  const auto document = leases_document(operation, leases);
  run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    work.exec_params0(kReleaseSql, owner, document);
    work.commit();
  });
}

std::optional<Transaction> PgStore::find(const std::string& xid) {
  const auto operation = fmt::format("find {}", shown(xid, kShownLength));
  require_text(operation, "xid", xid);
  return run(*pool_, operation, [&](pqxx::connection& connection) -> std::optional<Transaction> {
    pqxx::read_transaction work(connection);
    const auto rows = work.exec_params(find_sql(), xid);
    if (rows.empty()) return std::nullopt;
    std::vector<Transaction> found{transaction_from(rows[0])};
    attach_branches(work, found);
    return std::move(found.front());
  });
}

std::vector<Attempt> PgStore::attempts(const std::string& xid) {
  const auto operation = fmt::format("attempts of {}", shown(xid, kShownLength));
  require_text(operation, "xid", xid);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    std::vector<Attempt> trail;
    for (const auto& row : work.exec_params(kAttemptsSql, xid)) trail.push_back(attempt_from(row));
    return trail;
  });
}

std::vector<StatusCount> PgStore::count_by_status() {
  return run(*pool_, "count_by_status", [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    std::vector<StatusCount> counts;
    for (const auto status : kAllStatuses) counts.push_back({status, 0});
    for (const auto& row : work.exec(kCountByStatusSql)) {
      const auto status = parsed(parse_status, row[0]);
      std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.status == status; })->count =
          row[1].as<long long>();
    }
    return counts;
  });
}

ActionResult PgStore::retry(const AdminRequest& request) {
  return admin_action(*pool_, "retry", "SELECT outcome, status FROM compensatord.admin_retry($1, $2, $3)", request);
}

DecideByHandResult PgStore::decide_by_hand(const AdminRequest& request, Decision decision) {
  const auto operation = fmt::format("decide {} by hand", shown(request.xid, kShownLength));
  require_admin_request(operation, request);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::work work(connection);
    const auto row =
        work.exec_params1("SELECT outcome, status, decision FROM compensatord.admin_decide($1, $2, $3, $4)",
                          request.xid, std::string(to_string(decision)), request.actor, request.reason);
    work.commit();
    const auto outcome = row["outcome"].as<std::string>();
    DecideByHandResult result;
    result.status = parsed_optional(parse_status, row["status"]);
    result.decision = parsed_optional(parse_decision, row["decision"]);
    if (outcome == "decided") {
      result.outcome = DecideByHandOutcome::Decided;
    } else if (outcome == "already_decided") {
      result.outcome = DecideByHandOutcome::AlreadyDecided;
    } else if (outcome == "in_flight") {
      result.outcome = DecideByHandOutcome::InFlight;
    }
    return result;
  });
}

long long PgStore::count_due() {
  return run(*pool_, "count_due", [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    return work.exec1(count_due_sql())[0].as<long long>();
  });
}

std::chrono::milliseconds PgStore::oldest_due_age() {
  return run(*pool_, "oldest_due_age", [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    return std::chrono::milliseconds(work.exec1(oldest_due_age_sql())[0].as<long long>());
  });
}

int PgStore::schema_version() {
  return run(*pool_, "schema_version", [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    if (!work.exec1(kMigrationsTableSql)[0].as<bool>()) return 0;
    return work.exec1(kSchemaVersionSql)[0].as<int>();
  });
}

ActionResult PgStore::abandon(const AdminRequest& request) {
  return admin_action(*pool_, "abandon", "SELECT outcome, status FROM compensatord.admin_abandon($1, $2, $3)", request);
}

TransactionPage PgStore::list(const ListFilter& filter) {
  const std::string operation = "list transactions";
  require_page_size(operation, filter.limit);
  for (const auto& [key, value] :
       {std::pair{"after", &filter.after}, std::pair{"kind", &filter.kind}, std::pair{"source", &filter.source},
        std::pair{"participant", &filter.participant}}) {
    require_text(operation, key, *value);
  }
  if (filter.older_than.count() < 0) throw StoreError(fmt::format("{}: older_than must not be negative", operation));
  const std::string status = filter.status ? std::string(to_string(*filter.status)) : std::string();
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    // One row more than asked for says whether another page follows.
    const auto older_than = static_cast<long long>(filter.older_than.count());
    const auto rows = filter.participant.empty()
                          ? work.exec_params(page_sql(false), filter.after, status, filter.kind, filter.source,
                                             older_than, filter.limit + 1)
                          : work.exec_params(page_sql(true), filter.after, status, filter.kind, filter.source,
                                             older_than, filter.limit + 1, filter.participant);
    TransactionPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.transactions.size()) == filter.limit) {
        page.more = true;
        break;
      }
      page.transactions.push_back(transaction_from(row));
    }
    return page;
  });
}

AttemptPage PgStore::attempt_page(const std::string& xid, std::int64_t after_id, int limit) {
  const auto operation = fmt::format("attempts of {}", shown(xid, kShownLength));
  require_text(operation, "xid", xid);
  require_page_size(operation, limit);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    AttemptPage page;
    for (const auto& row : work.exec_params(kAttemptPageSql, xid, after_id, limit + 1)) {
      if (static_cast<int>(page.attempts.size()) == limit) {
        page.more = true;
        break;
      }
      page.attempts.push_back(attempt_from(row));
    }
    return page;
  });
}

std::vector<AdminAction> PgStore::admin_actions(const std::string& xid) {
  const auto operation = fmt::format("admin actions of {}", shown(xid, kShownLength));
  require_text(operation, "xid", xid);
  return run(*pool_, operation, [&](pqxx::connection& connection) {
    pqxx::read_transaction work(connection);
    std::vector<AdminAction> actions;
    for (const auto& row : work.exec_params(kAdminActionsSql, xid)) {
      actions.push_back({.id = row["id"].as<std::int64_t>(),
                         .action = parsed(parse_admin_verb, row["action"]),
                         .actor = row["actor"].as<std::string>(),
                         .reason = row["reason"].as<std::string>(),
                         .at = from_micros(row["at_us"]),
                         .before = nlohmann::json::parse(row["before"].as<std::string>()),
                         .after = nlohmann::json::parse(row["after"].as<std::string>())});
    }
    return actions;
  });
}

}  // namespace compensatord::store
