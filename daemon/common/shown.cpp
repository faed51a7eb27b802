#include "common/shown.hpp"

#include "model/text.hpp"

#include <nlohmann/json.hpp>

namespace compensatord {

std::string shown(std::string_view text, std::size_t max_bytes) {
  const std::string_view head = utf8_prefix(text, max_bytes);
  std::string out = nlohmann::json(std::string(head)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return head.size() < text.size() ? out + "..." : out;
}

}  // namespace compensatord
