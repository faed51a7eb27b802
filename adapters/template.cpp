#include "adapters/template.hpp"

#include "model/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace compensatord::adapters {
namespace {

// Locale-independent: std::isalnum may accept bytes >= 0x80 under some locales.
constexpr bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";
constexpr std::string_view kBranchPrefix = "branch.";

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool is_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](unsigned char c) { return is_ascii_alnum(c) || c == '_' || c == '-'; });
}

bool is_unreserved(unsigned char c) { return is_ascii_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

void require_scalar(const nlohmann::json& value, std::string_view name) {
  if (value.is_string() || value.is_number() || value.is_boolean()) return;
  throw RenderError(
      fmt::format("{} is {}, not a string, number or boolean", name, value.is_null() ? "null" : value.type_name()));
}

std::string json_scalar_text(const nlohmann::json& value, std::string_view name) {
  require_scalar(value, name);
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// "." and ".." are unreserved, so encoding leaves them as they are, and servers resolve such a
// segment to another endpoint (a branch field ".." would turn /stock/{{branch.sku}}/release into
// /release). A rendered path with a dot segment is refused instead.
void require_no_dot_segment(std::string_view path) {
  const std::string_view before_query = path.substr(0, path.find('?'));
  std::size_t start = 0;
  while (start <= before_query.size()) {
    const std::size_t end = std::min(before_query.find('/', start), before_query.size());
    const std::string_view segment = before_query.substr(start, end - start);
    if (segment == "." || segment == "..") {
      throw RenderError(
          fmt::format("the path would contain the dot segment '{}', which servers resolve to another "
                      "endpoint",
                      segment));
    }
    start = end + 1;
  }
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

std::optional<Template::Placeholder> Template::parse_placeholder(std::string_view name, TemplateScope scope,
                                                                 std::string& error) {
  if (name == "xid") return Placeholder{Placeholder::Root::Xid, {}};
  if (name == "kind") return Placeholder{Placeholder::Root::Kind, {}};
  if (name.starts_with(kBranchPrefix) && scope == TemplateScope::Branch) {
    std::string_view field = name.substr(kBranchPrefix.size());
    if (field == "no") return Placeholder{Placeholder::Root::BranchNo, {}};
    if (field == "participant") return Placeholder{Placeholder::Root::BranchParticipant, {}};
    if (is_field_name(field)) return Placeholder{Placeholder::Root::BranchField, std::string(field)};
    error =
        fmt::format("invalid branch field name in '{{{{{}}}}}': use letters, digits, '_' or '-'", name.substr(0, 64));
    return std::nullopt;
  }
  error = fmt::format("unknown placeholder '{{{{{}}}}}': expected {}", name.substr(0, 64),
                      scope == TemplateScope::Branch ? "xid, kind, branch.no, branch.participant or branch.<field>"
                                                     : "xid or kind (no branch here)");
  return std::nullopt;
}

std::optional<Template> Template::parse(std::string_view text, TemplateScope scope, std::string& error) {
  // Rendered into JSON bodies and headers, which carry text: a config byte that is not UTF-8
  // would fail every render of the action, not its load.
  if (!valid_utf8(text)) {
    error = "not valid UTF-8";
    return std::nullopt;
  }
  Template t;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) {
      t.parts_.emplace_back(std::string(text.substr(pos)));
      break;
    }
    if (open > pos) t.parts_.emplace_back(std::string(text.substr(pos, open - pos)));
    std::size_t close = text.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) {
      error = fmt::format("unclosed '{{{{' at offset {}", open);
      return std::nullopt;
    }
    auto placeholder =
        parse_placeholder(trim(text.substr(open + kOpen.size(), close - open - kOpen.size())), scope, error);
    if (!placeholder) return std::nullopt;
    t.parts_.emplace_back(std::move(*placeholder));
    pos = close + kClose.size();
  }
  return t;
}

nlohmann::json Template::value_of(const Placeholder& p, const RenderContext& ctx) {
  switch (p.root) {
    case Placeholder::Root::Xid:
      return ctx.txn.xid;
    case Placeholder::Root::Kind:
      return ctx.txn.kind;
    default:
      break;
  }
  if (ctx.branch == nullptr) throw RenderError("a branch placeholder was used without a branch");
  switch (p.root) {
    case Placeholder::Root::BranchNo:
      return ctx.branch->no;
    case Placeholder::Root::BranchParticipant:
      return ctx.branch->participant;
    default:
      break;
  }
  const nlohmann::json& fields = ctx.branch->fields;
  if (!fields.is_object() || !fields.contains(p.field)) {
    throw RenderError(fmt::format("branch {} has no field '{}'", ctx.branch->no, p.field));
  }
  return fields.at(p.field);
}

std::string Template::name_of(const Placeholder& p) {
  return p.root == Placeholder::Root::BranchField ? fmt::format("branch field '{}'", p.field)
                                                  : std::string("placeholder");
}

std::string Template::text_of(const Placeholder& p, const RenderContext& ctx) {
  return json_scalar_text(value_of(p, ctx), name_of(p));
}

std::string Template::render(const RenderContext& ctx, Escape escape) const {
  std::string out;
  for (const auto& part : parts_) {
    if (const auto* literal = std::get_if<std::string>(&part)) {
      out += *literal;
      continue;
    }
    std::string value = text_of(std::get<Placeholder>(part), ctx);
    switch (escape) {
      case Escape::PathSegment:
      case Escape::QueryValue:
        out += percent_encode(value);
        break;
      case Escape::HeaderValue:
        if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return is_control(c); })) {
          throw RenderError("a header value would contain a control character (CR, LF, ...)");
        }
        out += value;
        break;
      case Escape::Raw:
        out += value;
        break;
    }
  }
  if (escape == Escape::PathSegment) require_no_dot_segment(out);
  return out;
}

nlohmann::ordered_json Template::render_json(const RenderContext& ctx) const {
  // A value keeps its JSON type, but only a scalar one: an object or array from a branch field
  // would put structure where the participant expects a value ({"qty": {"$gt": 0}}).
  if (parts_.size() == 1) {
    if (const auto* p = std::get_if<Placeholder>(&parts_.front())) {
      nlohmann::json value = value_of(*p, ctx);
      require_scalar(value, name_of(*p));
      return nlohmann::ordered_json(value);
    }
  }
  return render(ctx, Escape::Raw);
}

bool Template::has_placeholders() const {
  return std::any_of(parts_.begin(), parts_.end(),
                     [](const Part& p) { return std::holds_alternative<Placeholder>(p); });
}

std::vector<std::string_view> Template::literals() const {
  std::vector<std::string_view> out;
  for (const auto& part : parts_) {
    if (const auto* literal = std::get_if<std::string>(&part)) out.emplace_back(*literal);
  }
  return out;
}

std::string_view Template::leading_literal() const {
  if (parts_.empty()) return {};
  const auto* literal = std::get_if<std::string>(&parts_.front());
  return literal != nullptr ? std::string_view(*literal) : std::string_view();
}

std::optional<Template> parse_template(const yaml::Reader& reader, TemplateScope scope) {
  auto text = reader.as_string();
  if (!text) return std::nullopt;
  std::string error;
  auto t = Template::parse(*text, scope, error);
  if (!t) reader.error(error);
  return t;
}

nlohmann::json yaml_scalar_to_json(const YAML::Node& node) {
  if (node.IsNull()) return nullptr;
  const std::string& text = node.Scalar();
  // yaml-cpp tags quoted scalars "!" and plain ones "?": only plain scalars carry a type.
  if (node.Tag() != "?") return text;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true") return true;
  if (text == "false") return false;
  std::int64_t integer = 0;
  const char* end = text.data() + text.size();
  if (auto [ptr, ec] = std::from_chars(text.data(), end, integer); ec == std::errc() && ptr == end) return integer;
  double real = 0;
  if (auto [ptr, ec] = std::from_chars(text.data(), end, real);
      ec == std::errc() && ptr == end && std::isfinite(real)) {
    return real;
  }
  return text;
}

std::optional<JsonTemplate> JsonTemplate::parse(const yaml::Reader& reader, TemplateScope scope) {
  JsonTemplate out;
  if (reader.is_map()) {
    auto object = std::make_shared<Object>();
    bool ok = true;
    for (const auto& key : reader.keys()) {
      auto value = parse(reader.child(key), scope);
      if (value) {
        object->emplace_back(key, std::move(*value));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    out.node_ = std::move(object);
    return out;
  }
  if (reader.is_sequence()) {
    auto array = std::make_shared<Array>();
    bool ok = true;
    for (std::size_t i = 0; i < reader.size(); ++i) {
      auto value = parse(reader.item(i), scope);
      if (value) {
        array->push_back(std::move(*value));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    out.node_ = std::move(array);
    return out;
  }
  if (!reader.node().IsDefined() || reader.node().IsNull()) {
    out.node_ = nlohmann::ordered_json(nullptr);
    return out;
  }
  nlohmann::json literal = yaml_scalar_to_json(reader.node());
  if (!literal.is_string()) {
    out.node_ = nlohmann::ordered_json(literal);
    return out;
  }
  auto t = parse_template(reader, scope);
  if (!t) return std::nullopt;
  out.node_ = std::move(*t);
  return out;
}

nlohmann::ordered_json JsonTemplate::render(const RenderContext& ctx) const {
  if (const auto* literal = std::get_if<nlohmann::ordered_json>(&node_)) return *literal;
  if (const auto* t = std::get_if<Template>(&node_)) return t->render_json(ctx);
  if (const auto* array = std::get_if<std::shared_ptr<Array>>(&node_)) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& item : **array) out.push_back(item.render(ctx));
    return out;
  }
  auto out = nlohmann::ordered_json::object();
  for (const auto& [key, value] : *std::get<std::shared_ptr<Object>>(node_)) out[key] = value.render(ctx);
  return out;
}

}  // namespace compensatord::adapters
