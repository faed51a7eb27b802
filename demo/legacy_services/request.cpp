#include "legacy_services/request.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace demo {

namespace {

bool order_no_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '-';
}

bool printable_ascii(char c) { return c >= 0x20 && c < 0x7f; }

const nlohmann::json* field_of(const nlohmann::json& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string as_text(const nlohmann::json& value, const std::string& field) {
  if (value.is_number_integer()) return value.dump();
  if (!value.is_string()) throw BadRequest(fmt::format("{}: must be a string", field));
  auto text = value.get<std::string>();
  if (text.size() > kMaxOrderNoLength) {
    throw BadRequest(fmt::format("{}: longer than {} characters", field, kMaxOrderNoLength));
  }
  if (!std::all_of(text.begin(), text.end(), printable_ascii)) {
    throw BadRequest(fmt::format("{}: must be printable ASCII", field));
  }
  return text;
}

}  // namespace

nlohmann::json parse_body(const std::string& text) {
  if (text.size() > kMaxBodyBytes) throw BadRequest(fmt::format("body larger than {} bytes", kMaxBodyBytes));
  auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw BadRequest("malformed JSON body");
  if (!body.is_object()) throw BadRequest("body must be a JSON object");
  return body;
}

void check_order_no(const std::string& order_no, const std::string& field) {
  if (order_no.empty()) throw BadRequest(fmt::format("{}: must not be empty", field));
  if (order_no.size() > kMaxOrderNoLength) {
    throw BadRequest(fmt::format("{}: longer than {} characters", field, kMaxOrderNoLength));
  }
  if (!std::all_of(order_no.begin(), order_no.end(), order_no_char)) {
    throw BadRequest(fmt::format("{}: only letters, digits and _ . : - are allowed", field));
  }
}

std::string required_text(const nlohmann::json& body, const std::string& field) {
  const auto* value = field_of(body, field);
  if (value == nullptr) throw BadRequest(fmt::format("{}: missing", field));
  auto text = as_text(*value, field);
  if (text.empty()) throw BadRequest(fmt::format("{}: must not be empty", field));
  return text;
}

std::string optional_text(const nlohmann::json& body, const std::string& field) {
  const auto* value = field_of(body, field);
  return value == nullptr ? std::string() : as_text(*value, field);
}

long long required_qty(const nlohmann::json& body, const std::string& field) {
  const auto* value = field_of(body, field);
  if (value == nullptr) throw BadRequest(fmt::format("{}: missing", field));
  long long qty = 0;
  if (value->is_number_integer()) {
    qty = value->get<long long>();
  } else if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), qty);
    if (ec != std::errc() || end != text.data() + text.size()) {
      throw BadRequest(fmt::format("{}: must be an integer", field));
    }
  } else {
    throw BadRequest(fmt::format("{}: must be an integer", field));
  }
  if (qty < 1 || qty > kMaxQty) throw BadRequest(fmt::format("{}: must be between 1 and {}", field, kMaxQty));
  return qty;
}

std::string keyed_order_no(const std::string& path_order_no, const nlohmann::json& body) {
  check_order_no(path_order_no, "path orderNo");
  const auto body_order_no = optional_text(body, "orderNo");
  if (!body_order_no.empty() && body_order_no != path_order_no) {
    throw BadRequest("orderNo: differs from the order number in the path");
  }
  return path_order_no;
}

}  // namespace demo
