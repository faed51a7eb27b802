#include "store/conninfo.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <memory>
#include <string_view>

namespace compensatord::store {
namespace {

using ParsedOptions = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// A value as a single-quoted key/value conninfo value: backslash and quote escaped.
std::string quoted(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

std::string with_connect_timeout(const std::string& dsn, std::chrono::milliseconds timeout) {
  const ParsedOptions options(PQconninfoParse(dsn.c_str(), nullptr), &PQconninfoFree);
  if (!options) return dsn;
  // Rebuilt as key/value pairs from what libpq parsed (only what the DSN set): a URI and a
  // key/value string come out alike, whatever their quoting.
  std::string rebuilt;
  for (const auto* option = options.get(); option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    if (std::string_view(option->keyword) == "connect_timeout") return dsn;
    rebuilt += fmt::format("{}={} ", option->keyword, quoted(option->val));
  }
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout);
  return rebuilt + fmt::format("connect_timeout={}", seconds.count());
}

}  // namespace compensatord::store
