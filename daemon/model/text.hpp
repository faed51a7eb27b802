#pragma once
// Checks on text that comes from outside (messages, API paths) before it becomes a key.

#include <string_view>

namespace compensatord {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text);

}  // namespace compensatord
