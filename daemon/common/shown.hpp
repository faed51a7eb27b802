#pragma once
// Untrusted text (an xid, a lease owner, a field name, a parser's message) as an error message
// quotes it: hostile or huge values must neither forge the message around them nor flood a log.

#include <cstddef>
#include <string>
#include <string_view>

namespace compensatord {

// `text` as a JSON string (quotes and control characters escaped, invalid UTF-8 replaced by
// U+FFFD) of at most `max_bytes` of it cut between two characters, followed by "..." when cut.
std::string shown(std::string_view text, std::size_t max_bytes);

}  // namespace compensatord
