#include "http/http_config.hpp"

#include "yaml/fields.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace compensatord::http {
namespace {

// A bearer token is sent in a header: printable ASCII without spaces, long enough not to be guessed.
constexpr std::size_t kMinTokenBytes = 16;
constexpr std::size_t kMaxTokenBytes = 4096;

std::optional<std::string> problem_with_secret(const std::string& secret) {
  if (secret.size() < kMinTokenBytes) {
    return fmt::format("a token must be at least {} characters, got {}", kMinTokenBytes, secret.size());
  }
  if (secret.size() > kMaxTokenBytes) return fmt::format("a token must be at most {} characters", kMaxTokenBytes);
  if (!std::all_of(secret.begin(), secret.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
    return "a token must be printable ASCII without spaces";
  }
  return std::nullopt;
}

// The token of `token_file`: its content without trailing line breaks (as a mounted Secret has).
std::optional<std::string> read_token_file(const yaml::Reader& entry, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    entry.child("token_file").error(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    return std::nullopt;
  }
  std::string secret(kMaxTokenBytes + 2, '\0');
  file.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<std::size_t>(file.gcount()));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

std::optional<ApiToken> parse_api_token(const yaml::Reader& entry) {
  if (!entry.is_map()) {
    entry.error("expected a map with name, scope and token or token_file");
    return std::nullopt;
  }
  entry.reject_unknown_keys({"name", "scope", "token", "token_file"});
  ApiToken token;
  const auto name = entry.string("name", true);
  if (name && (name->empty() || name->size() > 64 || !std::all_of(name->begin(), name->end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '-' || c == '_' || c == '.';
               }))) {
    entry.child("name").error("expected 1 to 64 characters of letters, digits, '-', '_' or '.'");
  }
  token.name = name.value_or("");
  if (const auto scope = entry.string("scope", true)) {
    if (*scope == "read") {
      token.scope = ApiScope::Read;
    } else if (*scope == "admin") {
      token.scope = ApiScope::Admin;
    } else {
      entry.child("scope").error(fmt::format("expected read or admin, got '{}'", *scope));
    }
  }
  const auto inline_secret = entry.string("token");
  const auto file = entry.string("token_file");
  if (inline_secret.has_value() == file.has_value()) {
    entry.error("set exactly one of token (e.g. ${API_TOKEN}) and token_file");
    return std::nullopt;
  }
  const auto secret = inline_secret ? inline_secret : read_token_file(entry, *file);
  if (!secret) return std::nullopt;
  if (auto problem = problem_with_secret(*secret)) {
    entry.child(inline_secret ? "token" : "token_file").error(*problem);
    return std::nullopt;
  }
  token.secret = *secret;
  return token;
}

std::vector<ApiToken> parse_api_tokens(const yaml::Reader& list) {
  std::vector<ApiToken> tokens;
  if (!list.present()) return tokens;
  if (!list.is_sequence()) {
    list.error("expected a list of tokens");
    return tokens;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const yaml::Reader entry = list.item(i);
    auto token = parse_api_token(entry);
    if (!token) continue;
    for (const auto& earlier : tokens) {
      if (earlier.name == token->name)
        entry.child("name").error(fmt::format("token name '{}' is given twice", earlier.name));
      if (earlier.secret == token->secret) entry.error(fmt::format("the same token as '{}'", earlier.name));
    }
    tokens.push_back(std::move(*token));
  }
  return tokens;
}

// `http.tls`: both files, or no section at all (plain HTTP).
std::optional<ApiTls> parse_api_tls(const yaml::Reader& section) {
  if (!yaml::is_section(section)) return std::nullopt;
  section.reject_unknown_keys({"cert_file", "key_file", "reload_interval"});
  ApiTls tls;
  if (auto cert = section.string("cert_file", true)) tls.cert_file = *cert;
  if (auto key = section.string("key_file", true)) tls.key_file = *key;
  yaml::read_duration(section, "reload_interval", tls.reload_interval);
  return tls;
}

}  // namespace

HttpConfig parse_http(const yaml::Reader& section) {
  HttpConfig http;
  if (!yaml::is_section(section)) return http;
  section.reject_unknown_keys({"listen", "tokens", "tls"});
  if (auto listen = section.string("listen"); listen && *listen == "off") {
    http.listen.reset();
  } else if (listen) {
    if (!yaml::valid_listen(*listen)) {
      section.child("listen").error(fmt::format("expected host:port like 0.0.0.0:8080 (or off), got '{}'", *listen));
    }
    http.listen = *listen;
  }
  http.tokens = parse_api_tokens(section.child("tokens"));
  http.tls = parse_api_tls(section.child("tls"));
  return http;
}

}  // namespace compensatord::http
