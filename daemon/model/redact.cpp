#include "model/redact.hpp"

#include "model/text.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace compensatord {
namespace {

constexpr std::string_view kMask = "***";
constexpr std::string_view kSchemeEnd = "://";
constexpr std::string_view kPasswordKey = "password";

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool is_scheme_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '.' || c == '-';
}

// A URL's authority ends at its path, query or fragment, or where the text around it resumes.
bool ends_authority(char c) { return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || is_space(c); }

// Where a secret is in a text.
struct Span {
  std::size_t at = 0;
  std::size_t size = 0;
};

// The password of the URL user info `scheme://user:password@host` whose "://" is at `scheme_end`,
// or nothing when the URL has none. The host follows the last '@' of the authority, so an
// unencoded '@' in the password stays inside it.
std::optional<Span> url_password(std::string_view text, std::size_t scheme_end) {
  if (scheme_end == 0 || !is_scheme_char(text[scheme_end - 1])) return std::nullopt;
  const std::size_t start = scheme_end + kSchemeEnd.size();
  std::size_t end = start;
  while (end < text.size() && !ends_authority(text[end])) ++end;
  const std::string_view authority = text.substr(start, end - start);
  const auto host = authority.rfind('@');
  const auto colon = authority.find(':');
  if (host == std::string_view::npos || colon == std::string_view::npos || colon > host) return std::nullopt;
  return Span{start + colon + 1, host - colon - 1};
}

// The value of a `password=VALUE` setting whose key ends at `key_end`: quoted ('...' with \-escapes,
// to the end of the text when the quote never closes: all of it may be the password) or up to a
// space or '&' (a URL query). Nothing when no '=' follows the key.
std::optional<Span> setting_value(std::string_view text, std::size_t key_end) {
  std::size_t at = key_end;
  while (at < text.size() && is_space(text[at])) ++at;
  if (at == text.size() || text[at] != '=') return std::nullopt;
  ++at;
  while (at < text.size() && is_space(text[at])) ++at;
  std::size_t end = at;
  if (end < text.size() && text[end] == '\'') {
    for (++end; end < text.size() && text[end] != '\''; ++end) {
      if (text[end] == '\\') ++end;
    }
    end = std::min(end + 1, text.size());
  } else {
    while (end < text.size() && !is_space(text[end]) && text[end] != '&') ++end;
  }
  return Span{at, end - at};
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

// Every secret of `text`, in order: URL passwords and password settings.
std::vector<Span> secret_spans(std::string_view text) {
  std::vector<Span> spans;
  for (auto at = text.find(kSchemeEnd); at != std::string_view::npos; at = text.find(kSchemeEnd, at + 1)) {
    if (auto span = url_password(text, at)) spans.push_back(*span);
  }
  const std::string folded = lower(text);
  for (auto at = folded.find(kPasswordKey); at != std::string::npos; at = folded.find(kPasswordKey, at + 1)) {
    if (auto span = setting_value(text, at + kPasswordKey.size())) spans.push_back(*span);
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.at < b.at; });
  return spans;
}

// `text` with every span (sorted by position) replaced by the mask; overlapping spans are masked as one.
std::string masked(std::string_view text, const std::vector<Span>& spans) {
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0;
  for (const auto& span : spans) {
    if (span.at >= copied) {
      out.append(text.substr(copied, span.at - copied));
      out.append(kMask);
    }
    copied = std::max(copied, span.at + span.size);
  }
  out.append(text.substr(copied));
  return out;
}

// A quoted key/value setting as libpq reads it: without its quotes and \-escapes.
std::string unquoted(std::string_view value) {
  if (value.empty() || value.front() != '\'') return std::string(value);
  std::string out;
  for (std::size_t i = 1; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      out += value[++i];
    } else if (value[i] != '\'') {
      out += value[i];
    } else {
      break;
    }
  }
  return out;
}

// The passwords `connection` carries, as written and as a driver would decode them.
std::vector<std::string> passwords_of(std::string_view connection) {
  std::vector<std::string> passwords;
  for (const auto& span : secret_spans(connection)) {
    const auto written = connection.substr(span.at, span.size);
    for (auto password : {std::string(written), unquoted(written), percent_decoded(written).value_or("")}) {
      if (!password.empty()) passwords.push_back(std::move(password));
    }
  }
  // Longest first: a password that contains another is masked whole.
  std::sort(passwords.begin(), passwords.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return passwords;
}

}  // namespace

std::string redact_secrets(std::string_view text) { return masked(text, secret_spans(text)); }

std::string redact_secrets(std::string_view text, std::string_view connection) {
  std::string out(text);
  for (const auto& password : passwords_of(connection)) {
    for (auto at = out.find(password); at != std::string::npos; at = out.find(password, at + kMask.size())) {
      out.replace(at, password.size(), kMask);
    }
  }
  return redact_secrets(out);
}

}  // namespace compensatord
