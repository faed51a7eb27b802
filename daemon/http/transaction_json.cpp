#include "http/transaction_json.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace compensatord::http {
namespace {

std::string rfc3339(TimePoint t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::seconds>(t));
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

}  // namespace

nlohmann::json to_json(const Transaction& txn) {
  nlohmann::json branches = nlohmann::json::array();
  for (const auto& b : txn.branches) branches.push_back(branch_json(b));
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
          {"parked_reason", txn.parked_reason},
          {"branches", std::move(branches)}};
}

}  // namespace compensatord::http
