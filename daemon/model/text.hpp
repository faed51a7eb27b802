#pragma once
// Checks on text that comes from outside (messages, API paths) before it becomes a key.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace compensatord {

// The length in bytes of the well-formed UTF-8 sequence that starts at `text[at]`, or 0 when the
// bytes there are not one (a stray continuation byte, a cut sequence, an overlong form, a
// surrogate or a code point past U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text);

// `text` with every "%" and two hex digits (RFC 3986) replaced by the byte they name; "+" stays a
// plus. Nothing when a "%" is not followed by two hex digits.
std::optional<std::string> percent_decoded(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` that does not end inside a UTF-8 sequence, so
// a cut key or message stays as valid as it was.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace compensatord
