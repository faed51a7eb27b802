#include "http/transaction_path.hpp"

#include "model/text.hpp"
#include "model/transaction.hpp"

#include <fmt/format.h>

namespace compensatord::http {

std::variant<std::string, PathProblem> xid_from_segment(std::string_view segment) {
  // Checked before decoding too: a huge path is refused without copying it.
  if (segment.size() > 3 * kMaxXidBytes) return PathProblem{fmt::format("xid must be 1..{} bytes", kMaxXidBytes)};
  auto xid = percent_decoded(segment);
  if (!xid) return PathProblem{"malformed percent-encoding in xid"};
  if (xid->empty() || xid->size() > kMaxXidBytes) {
    return PathProblem{fmt::format("xid must be 1..{} bytes", kMaxXidBytes)};
  }
  // No stored xid holds these: the database would refuse the lookup, an error rather than a 404.
  if (xid->find('\0') != std::string::npos || !valid_utf8(*xid)) {
    return PathProblem{"xid must be UTF-8 text without NUL"};
  }
  return std::move(*xid);
}

}  // namespace compensatord::http
