// Request templates: any template text either fails to parse with an error, or renders any xid and
// branch fields (valid UTF-8, as everything read from the store is) to text escaped for where it
// lands, or refuses with a RenderError. A placeholder never changes a request's shape.
//
// Input: the template text, a newline, the xid, a newline, the branch fields as JSON (anything
// that is not a JSON object becomes the value of the field "sku").
#include "adapters/template.hpp"
#include "fuzz_support.hpp"
#include "model/text.hpp"

#include <algorithm>

using namespace compensatord;
using adapters::Escape;

namespace {

bool unreserved_or_encoded(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool unreserved = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) continue;
    if (c != '%' || i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return false;
    }
    i += 2;
  }
  return true;
}

bool no_literal_text(const adapters::Template& t) {
  const auto literals = t.literals();
  return std::all_of(literals.begin(), literals.end(), [](std::string_view literal) { return literal.empty(); });
}

void render_everywhere(const adapters::Template& t, const adapters::RenderContext& context) {
  const bool only_placeholders = no_literal_text(t);
  for (const Escape escape : {Escape::PathSegment, Escape::QueryValue, Escape::HeaderValue, Escape::Raw}) {
    try {
      const std::string text = t.render(context, escape);
      if (escape == Escape::PathSegment) FUZZ_REQUIRE(text != "." && text != "..");
      if (only_placeholders && (escape == Escape::PathSegment || escape == Escape::QueryValue)) {
        FUZZ_REQUIRE(unreserved_or_encoded(text));
      }
      if (only_placeholders && escape == Escape::HeaderValue) {
        FUZZ_REQUIRE(text.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
      }
    } catch (const adapters::RenderError&) {
    }
  }
  try {
    const auto value = t.render_json(context);
    FUZZ_REQUIRE(!value.is_null() && !value.is_object() && !value.is_array());
    (void)value.dump();
  } catch (const adapters::RenderError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  const std::string_view text = fuzz::take_until(input, '\n');
  const std::string_view xid = fuzz::take_until(input, '\n');
  if (!valid_utf8(xid) || !valid_utf8(input)) return 0;

  std::string error;
  const auto parsed = adapters::Template::parse(text, adapters::TemplateScope::Branch, error);
  if (!parsed) {
    FUZZ_REQUIRE(!error.empty());
    return 0;
  }
  Transaction txn;
  txn.xid = std::string(xid);
  txn.kind = "order";
  Branch branch;
  branch.participant = "stock";
  branch.fields = nlohmann::json::parse(input, nullptr, false);
  if (!branch.fields.is_object()) branch.fields = nlohmann::json{{"sku", std::string(input)}};
  render_everywhere(*parsed, {txn, &branch});
  return 0;
}
