#pragma once
// The JSON shape of a transaction in the /v1 API: what participants and the order service
// read to refuse late work on a cancelled transaction (docs/design.md, "Suspension").

#include "model/transaction.hpp"

#include <nlohmann/json.hpp>

namespace compensatord::http {

nlohmann::json to_json(const Transaction& txn);

}  // namespace compensatord::http
