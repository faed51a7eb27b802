#include "store/json_rows.hpp"

#include "model/text.hpp"

#include <fmt/format.h>

#include <iterator>

namespace compensatord::store {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

void append_escaped_control(std::string& out, unsigned char c) {
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view value) {
  out += '"';
  std::size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(value, i);
      if (length == 0) {
        out += kReplacementCharacter;
        ++i;
      } else {
        out.append(value.substr(i, length));
        i += length;
      }
      continue;
    }
    if (c == '\0') {
      out += kReplacementCharacter;
    } else if (c < 0x20) {
      append_escaped_control(out, c);
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

JsonRows& JsonRows::row() {
  if (in_row_) out_ += "},";
  out_ += '{';
  in_row_ = true;
  first_key_ = true;
  return *this;
}

void JsonRows::key(std::string_view key) {
  if (!first_key_) out_ += ',';
  first_key_ = false;
  out_ += '"';
  out_ += key;
  out_ += "\":";
}

JsonRows& JsonRows::text(std::string_view key, std::string_view value) {
  this->key(key);
  append_json_string(out_, value);
  return *this;
}

JsonRows& JsonRows::number(std::string_view key, long long value) {
  this->key(key);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

JsonRows& JsonRows::number(std::string_view key, std::optional<int> value) {
  if (!value) return null(key);
  return number(key, static_cast<long long>(*value));
}

JsonRows& JsonRows::null(std::string_view key) {
  this->key(key);
  out_ += "null";
  return *this;
}

std::string JsonRows::finish() && {
  if (in_row_) out_ += '}';
  out_ += ']';
  return std::move(out_);
}

std::string json_string_array(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const auto& value : values) {
    if (out.size() > 1) out += ',';
    append_json_string(out, value);
  }
  out += ']';
  return out;
}

}  // namespace compensatord::store
