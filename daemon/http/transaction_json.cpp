#include "http/transaction_json.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace compensatord::http {
namespace {

std::string rfc3339(TimePoint t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::seconds>(t));
}

// The trail's times keep their milliseconds: calls of one reconcile start within the same second.
std::string rfc3339_ms(TimePoint t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::milliseconds>(t));
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json branch_json(const Branch& b) {
  return {{"no", b.no},
          {"participant", b.participant},
          {"fields", b.fields},
          {"status", to_string(b.status)},
          {"last_outcome", b.last_outcome ? nlohmann::json(to_string(*b.last_outcome)) : nlohmann::json(nullptr)},
          {"attempt_count", b.attempt_count},
          {"last_error", b.last_error},
          {"last_http_status", or_null(b.last_http_status)}};
}

nlohmann::json summary_json(const Transaction& txn) {
  return {{"xid", txn.xid},
          {"kind", txn.kind},
          {"source", txn.source},
          {"status", to_string(txn.status)},
          {"decision", txn.decision ? nlohmann::json(to_string(*txn.decision)) : nlohmann::json(nullptr)},
          {"decided_by", txn.decided_by},
          {"created_at", rfc3339(txn.created_at)},
          {"due_at", rfc3339(txn.due_at)},
          {"next_attempt_at", rfc3339(txn.next_attempt_at)},
          {"attempt_count", txn.attempt_count},
          {"last_error", txn.last_error},
          {"last_http_status", or_null(txn.last_http_status)},
          {"parked_reason", txn.parked_reason}};
}

nlohmann::json attempt_json(const Attempt& a) {
  return {{"id", or_null(a.id)},
          {"branch", or_null(a.branch_no)},
          {"action", to_string(a.action)},
          {"replica", a.replica},
          {"started_at", rfc3339_ms(a.started_at)},
          {"request", a.request_summary},
          {"outcome", to_string(a.outcome)},
          {"http_status", or_null(a.http_status)},
          {"latency_ms", a.latency.count()},
          {"error", a.error}};
}

nlohmann::json admin_action_json(const store::AdminAction& action) {
  return {{"id", action.id},         {"action", to_string(action.action)}, {"actor", action.actor},
          {"reason", action.reason}, {"at", rfc3339_ms(action.at)},        {"before", action.before},
          {"after", action.after}};
}

}  // namespace

nlohmann::json to_json(const Transaction& txn) {
  nlohmann::json json = summary_json(txn);
  nlohmann::json branches = nlohmann::json::array();
  for (const auto& b : txn.branches) branches.push_back(branch_json(b));
  json["branches"] = std::move(branches);
  return json;
}

nlohmann::json to_json(const store::TransactionPage& page) {
  nlohmann::json transactions = nlohmann::json::array();
  for (const auto& txn : page.transactions) transactions.push_back(summary_json(txn));
  const bool more = page.more && !page.transactions.empty();
  return {{"transactions", std::move(transactions)},
          {"next_after", more ? nlohmann::json(page.transactions.back().xid) : nlohmann::json(nullptr)}};
}

nlohmann::json to_json(const store::AttemptPage& page) {
  nlohmann::json attempts = nlohmann::json::array();
  for (const auto& a : page.attempts) attempts.push_back(attempt_json(a));
  const bool more = page.more && !page.attempts.empty();
  return {{"attempts", std::move(attempts)},
          {"next_after", more ? or_null(page.attempts.back().id) : nlohmann::json(nullptr)}};
}

nlohmann::json to_json(const std::vector<store::AdminAction>& actions) {
  nlohmann::json json = nlohmann::json::array();
  for (const auto& action : actions) json.push_back(admin_action_json(action));
  return json;
}

}  // namespace compensatord::http
