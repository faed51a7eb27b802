// The API's request line: the /v1/transactions/{xid} segment and the query of a list or a show.
// Whatever the input, either a problem (a 400) or values a stored row could hold.
#include "fuzz_support.hpp"
#include "http/query.hpp"
#include "http/transaction_path.hpp"
#include "model/text.hpp"
#include "model/transaction.hpp"

#include <chrono>
#include <string>
#include <variant>

namespace {

using compensatord::http::PathProblem;

void check_segment(std::string_view text) {
  const auto named = compensatord::http::xid_from_segment(text);
  if (const auto* xid = std::get_if<std::string>(&named)) {
    FUZZ_REQUIRE(!xid->empty() && xid->size() <= compensatord::kMaxXidBytes);
    FUZZ_REQUIRE(xid->find('\0') == std::string::npos);
    FUZZ_REQUIRE(compensatord::valid_utf8(*xid));
  } else {
    FUZZ_REQUIRE(!std::get<PathProblem>(named).message.empty());
  }
}

bool storable(const std::string& text) {
  return text.find('\0') == std::string::npos && compensatord::valid_utf8(text);
}

void check_queries(std::string_view text) {
  const auto filter = compensatord::http::list_filter_from_query(text);
  if (const auto* f = std::get_if<compensatord::store::ListFilter>(&filter)) {
    FUZZ_REQUIRE(f->limit >= 1 && f->limit <= compensatord::store::kMaxPageSize);
    FUZZ_REQUIRE(f->older_than.count() >= 0 && f->older_than <= std::chrono::hours(24 * 36'500));
    FUZZ_REQUIRE(f->after.size() <= compensatord::kMaxXidBytes);
    for (const auto* value : {&f->after, &f->kind, &f->participant, &f->source}) FUZZ_REQUIRE(storable(*value));
  } else {
    FUZZ_REQUIRE(!std::get<PathProblem>(filter).message.empty());
  }
  const auto paging = compensatord::http::attempt_paging_from_query(text);
  if (const auto* p = std::get_if<compensatord::http::AttemptPaging>(&paging)) {
    FUZZ_REQUIRE(p->after_id >= 0);
    FUZZ_REQUIRE(p->limit >= 1 && p->limit <= compensatord::store::kMaxPageSize);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = compensatord::fuzz::as_text(data, size);
  check_segment(text);
  check_queries(text);
  return 0;
}
