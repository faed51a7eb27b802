#pragma once
// The xid named by the last segment of /v1/transactions/{xid}: the one piece of a request path
// that becomes a database key. Pure, so that hostile paths are tested (and fuzzed) without a
// listener.

#include <string>
#include <string_view>
#include <variant>

namespace compensatord::http {

// Why a segment names no xid; the API answers 400 with this text.
struct PathProblem {
  std::string message;
};

// Percent-decodes `segment` (RFC 3986: "%" and two hex digits; "+" stays a plus) and checks the
// result: 1 to kMaxXidBytes bytes of UTF-8 text without NUL, as every stored xid is.
std::variant<std::string, PathProblem> xid_from_segment(std::string_view segment);

}  // namespace compensatord::http
