#pragma once
// The JSON shapes of the /v1 API: a transaction as participants and the order service read it to
// refuse late work on a cancelled transaction (docs/design.md, "Suspension"), a page of the list,
// the audit trail and the admin actions an operator reads.

#include "model/transaction.hpp"
#include "store/admin_store.hpp"

#include <nlohmann/json.hpp>

namespace compensatord::http {

// The transaction with its branches.
nlohmann::json to_json(const Transaction& txn);
// One page of GET /v1/transactions: {"transactions": [...without branches], "next_after": xid|null}.
nlohmann::json to_json(const store::TransactionPage& page);
// {"attempts": [...], "next_after": id|null}
nlohmann::json to_json(const store::AttemptPage& page);
nlohmann::json to_json(const std::vector<store::AdminAction>& actions);

}  // namespace compensatord::http
