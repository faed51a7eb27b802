#include "model/duration.hpp"

#include <cctype>
#include <cstdint>

namespace compensatord {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  // Nine digits of days still fit in milliseconds; more would overflow.
  if (digits == 0 || digits > 9) return std::nullopt;
  std::int64_t amount = 0;
  for (std::size_t i = 0; i < digits; ++i) amount = amount * 10 + (text[i] - '0');
  std::string_view unit = text.substr(digits);
  using namespace std::chrono;
  if (unit == "ms") return milliseconds(amount);
  if (unit == "s") return duration_cast<milliseconds>(seconds(amount));
  if (unit == "m") return duration_cast<milliseconds>(minutes(amount));
  if (unit == "h") return duration_cast<milliseconds>(hours(amount));
  if (unit == "d") return duration_cast<milliseconds>(hours(24 * amount));
  return std::nullopt;
}

}  // namespace compensatord
