// The API's /v1/transactions/{xid} segment: whatever the path, either a problem (a 400) or an
// xid that a stored row could hold.
#include "fuzz_support.hpp"
#include "http/transaction_path.hpp"
#include "model/text.hpp"
#include "model/transaction.hpp"

#include <string>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto named = compensatord::http::xid_from_segment(compensatord::fuzz::as_text(data, size));
  if (const auto* xid = std::get_if<std::string>(&named)) {
    FUZZ_REQUIRE(!xid->empty() && xid->size() <= compensatord::kMaxXidBytes);
    FUZZ_REQUIRE(xid->find('\0') == std::string::npos);
    FUZZ_REQUIRE(compensatord::valid_utf8(*xid));
  } else {
    FUZZ_REQUIRE(!std::get<compensatord::http::PathProblem>(named).message.empty());
  }
  return 0;
}
