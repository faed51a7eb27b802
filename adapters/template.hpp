#pragma once
// Request templates: "{{xid}}", "{{kind}}", "{{branch.NAME}}", "{{branch.participant}}", "{{branch.no}}".
// Parsed once at config load; rendered per action with escaping for where each value lands,
// so no xid or branch field can change the shape of a request.

#include "model/transaction.hpp"
#include "yaml/reader.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace compensatord::adapters {

// A value could not be rendered (missing branch field, control character in a header, ...).
// Retrying cannot fix it, so the action's outcome is fatal.
class RenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a rendered value lands; decides its escaping.
enum class Escape {
  PathSegment,  // percent-encode all but RFC 3986 unreserved characters
  QueryValue,   // same as a path segment: '&', '=', '+', '#' never split a value
  HeaderValue,  // verbatim, but control characters (CR, LF, ...) are a render error
  Raw,          // verbatim: the JSON serializer escapes it
};

// Which placeholders a template may use: an HTTP check has a transaction but no branch.
enum class TemplateScope { Transaction, Branch };

// What a template is rendered against. `branch` is null for a check.
struct RenderContext {
  const Transaction& txn;
  const Branch* branch = nullptr;
};

class Template {
 public:
  // Returns nullopt and sets `error` when the text is malformed (unclosed "{{", unknown root, ...).
  static std::optional<Template> parse(std::string_view text, TemplateScope scope, std::string& error);

  // Throws RenderError; with Escape::PathSegment also when the path would hold a "." or ".." segment.
  [[nodiscard]] std::string render(const RenderContext& ctx, Escape escape) const;
  // A template that is exactly one placeholder keeps the value's JSON type (qty 2 stays a number);
  // anything else renders to a JSON string. A value that is not a string, number or boolean
  // (null, an object, an array) is a RenderError, as in text.
  [[nodiscard]] nlohmann::ordered_json render_json(const RenderContext& ctx) const;

  [[nodiscard]] bool has_placeholders() const;
  // The literal text between placeholders, for callers that validate it (e.g. URL paths).
  [[nodiscard]] std::vector<std::string_view> literals() const;
  // The literal text before the first placeholder ("" when the template starts with one).
  [[nodiscard]] std::string_view leading_literal() const;

 private:
  struct Placeholder {
    enum class Root { Xid, Kind, BranchNo, BranchParticipant, BranchField } root;
    std::string field;  // for BranchField
  };
  using Part = std::variant<std::string, Placeholder>;

  [[nodiscard]] static std::optional<Placeholder> parse_placeholder(std::string_view name, TemplateScope scope,
                                                                    std::string& error);
  [[nodiscard]] static nlohmann::json value_of(const Placeholder& p, const RenderContext& ctx);
  [[nodiscard]] static std::string name_of(const Placeholder& p);
  [[nodiscard]] static std::string text_of(const Placeholder& p, const RenderContext& ctx);

  std::vector<Part> parts_;
};

// A JSON body: a YAML map or sequence whose string values are templates.
class JsonTemplate {
 public:
  // Reports errors to the reader's error list (key path and line); nullopt on error.
  static std::optional<JsonTemplate> parse(const yaml::Reader& reader, TemplateScope scope);

  // Throws RenderError.
  [[nodiscard]] nlohmann::ordered_json render(const RenderContext& ctx) const;

 private:
  using Object = std::vector<std::pair<std::string, JsonTemplate>>;
  using Array = std::vector<JsonTemplate>;
  // A literal scalar from the YAML (number, bool, null) or a template (every string).
  std::variant<nlohmann::ordered_json, Template, std::shared_ptr<Array>, std::shared_ptr<Object>> node_;
};

// Parses a YAML scalar the way a reader of the YAML expects: plain `0`, `1.5`, `true`, `null` are typed,
// quoted values and everything else are strings.
nlohmann::json yaml_scalar_to_json(const YAML::Node& node);

// RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view text);

// Reads a template at `reader` (a string scalar). Reports errors to the reader's error list.
std::optional<Template> parse_template(const yaml::Reader& reader, TemplateScope scope);

}  // namespace compensatord::adapters
