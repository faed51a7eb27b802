#pragma once
// Validation of what callers send to the sample services. Everything arrives from outside, so
// every problem becomes a BadRequest whose reason names the field; the handler answers 400.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace demo {

inline constexpr std::size_t kMaxBodyBytes = 1 << 20;
inline constexpr std::size_t kMaxOrderNoLength = 64;
inline constexpr long long kMaxQty = 1'000'000;

class BadRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a JSON object body of at most kMaxBodyBytes.
nlohmann::json parse_body(const std::string& text);

// Order numbers are 1..64 characters of [A-Za-z0-9_.:-]: they key every lock and end up in paths.
void check_order_no(const std::string& order_no, const std::string& field);

// body[field] as a non-empty string of at most 64 printable ASCII characters (numbers are accepted as text).
std::string required_text(const nlohmann::json& body, const std::string& field);
// Like required_text, but missing, null and "" give "".
std::string optional_text(const nlohmann::json& body, const std::string& field);
// body[field] as an integer 1..kMaxQty, given as a number or as a decimal string ("2"): adapter
// templates render every branch field as text.
long long required_qty(const nlohmann::json& body, const std::string& field);

// The order number of a keyed call: the path's, which the body's orderNo must match when present.
std::string keyed_order_no(const std::string& path_order_no, const nlohmann::json& body);

}  // namespace demo
