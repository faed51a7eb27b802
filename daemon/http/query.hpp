#pragma once
// The query parameters of the /v1 API: what a list returns and which page of a trail a show
// returns. Pure, like transaction_path.hpp, so hostile queries are tested and fuzzed without a
// listener. Every mistake is a 400 naming the parameter: an unknown or repeated parameter is one
// too, so a typo (`stauts=PARKED`) never lists everything.

#include "http/transaction_path.hpp"
#include "store/admin_store.hpp"

#include <cstdint>
#include <string_view>
#include <variant>

namespace compensatord::http {

// GET /v1/transactions?status=&kind=&participant=&source=&older_than=&limit=&after=
std::variant<store::ListFilter, PathProblem> list_filter_from_query(std::string_view query);

// GET /v1/transactions/{xid}?attempts_after=&attempts_limit=
struct AttemptPaging {
  std::int64_t after_id = 0;
  int limit = 100;
};
std::variant<AttemptPaging, PathProblem> attempt_paging_from_query(std::string_view query);

}  // namespace compensatord::http
