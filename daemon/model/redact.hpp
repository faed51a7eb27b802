#pragma once
// Passwords out of text that names a connection (a libpq DSN, a participant's base URL) or that a
// driver wrote about one, before the text reaches a log, the attempts table or the API.

#include <string>
#include <string_view>

namespace compensatord {

// `text` with the password of every `scheme://user:password@` URL and of every `password=...`
// setting (key/value DSN, URL query) replaced by ***. The user name stays: it says who connected.
std::string redact_secrets(std::string_view text);

// redact_secrets(text), and also every occurrence in `text` of the password that `connection` (a
// DSN or URL) carries, as written and percent-decoded: libpq quotes pieces of a malformed DSN in
// its messages, where no pattern could recognise them.
std::string redact_secrets(std::string_view text, std::string_view connection);

}  // namespace compensatord
