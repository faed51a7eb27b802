#pragma once
// The jsonb documents that carry a batch to one statement (an array of flat objects, or of
// strings), written straight into one string. Building them as JSON trees and serialising those
// was a fifth of the daemon's CPU at full load.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::store {

// Text as PostgreSQL's jsonb can hold it: a JSON string literal of `value`, with every invalid
// UTF-8 byte and every NUL (which jsonb refuses) replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view value);

class JsonRows {
 public:
  // Starts the next object of the array.
  JsonRows& row();
  // Keys are the statements' own names: plain ASCII, written as they are.
  JsonRows& text(std::string_view key, std::string_view value);
  JsonRows& number(std::string_view key, long long value);
  // null when there is no value.
  JsonRows& number(std::string_view key, std::optional<int> value);
  JsonRows& null(std::string_view key);

  // The array, closed.
  std::string finish() &&;

 private:
  void key(std::string_view key);

  std::string out_ = "[";
  bool in_row_ = false;
  bool first_key_ = true;
};

// ["a","b",...]
std::string json_string_array(const std::vector<std::string>& values);

}  // namespace compensatord::store
