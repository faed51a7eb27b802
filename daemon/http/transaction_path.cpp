#include "http/transaction_path.hpp"

#include "model/text.hpp"
#include "model/transaction.hpp"

#include <fmt/format.h>

#include <optional>

namespace compensatord::http {
namespace {

std::optional<int> hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

std::optional<std::string> percent_decoded(std::string_view segment) {
  std::string decoded;
  decoded.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      decoded += segment[i];
      continue;
    }
    if (segment.size() - i < 3) return std::nullopt;
    const auto high = hex_digit(segment[i + 1]);
    const auto low = hex_digit(segment[i + 2]);
    if (!high || !low) return std::nullopt;
    decoded += static_cast<char>(*high * 16 + *low);
    i += 2;
  }
  return decoded;
}

}  // namespace

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
