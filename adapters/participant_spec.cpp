#include "adapters/participant_spec.hpp"

#include "adapters/participant.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace compensatord::adapters {
namespace {

// Locale-independent: std::isalnum may accept bytes >= 0x80 under some locales.
constexpr bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

constexpr std::array<std::string_view, 5> kMethods{"GET", "POST", "PUT", "PATCH", "DELETE"};

// RFC 9110 token characters: what a header name may contain.
bool is_token(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return is_ascii_alnum(c) || kExtra.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// RFC 3986 pchar plus '/', and '%' for segments the operator encoded by hand.
bool is_path_text(std::string_view s) {
  static constexpr std::string_view kExtra = "-._~!$&'()*+,;=:@/%";
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return is_ascii_alnum(c) || kExtra.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// Error count, to tell whether parsing one part added errors.
std::size_t error_count(const yaml::Reader& reader) { return reader.errors().all().size(); }

std::optional<std::string> parse_base_url(const yaml::Reader& reader) {
  auto url = reader.string("base_url", true);
  if (!url) return std::nullopt;
  yaml::Reader at = reader.child("base_url");
  std::string_view rest = *url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    at.error("must start with http:// or https://");
    return std::nullopt;
  }
  if (rest.empty() || rest.front() == '/') {
    at.error("has no host");
    return std::nullopt;
  }
  if (rest.find_first_of("?# ") != std::string_view::npos || has_control(rest)) {
    at.error("must not contain a query, a fragment, spaces or control characters");
    return std::nullopt;
  }
  while (url->ends_with('/')) url->pop_back();
  return url;
}

std::vector<std::pair<std::string, std::string>> parse_static_headers(const yaml::Reader& reader) {
  std::vector<std::pair<std::string, std::string>> out;
  yaml::Reader headers = reader.child("headers");
  if (!headers.present()) return out;
  if (!headers.is_map()) {
    headers.error("expected a map of header name to value");
    return out;
  }
  for (const auto& name : headers.keys()) {
    yaml::Reader value = headers.child(name);
    if (!is_token(name)) {
      value.error(fmt::format("invalid header name '{}'", name.substr(0, 64)));
      continue;
    }
    auto text = value.as_string();
    if (!text) {
      if (!value.present()) value.error("expected a header value");
      continue;
    }
    if (has_control(*text)) {
      value.error("header value contains a control character (CR, LF, ...)");
      continue;
    }
    out.emplace_back(name, std::move(*text));
  }
  return out;
}

// A map of name -> template (query, headers, form), in document order.
std::vector<std::pair<std::string, Template>> parse_template_map(const yaml::Reader& map, bool header_names) {
  std::vector<std::pair<std::string, Template>> out;
  if (!map.present()) return out;
  if (!map.is_map()) {
    map.error("expected a map of name to template");
    return out;
  }
  for (const auto& name : map.keys()) {
    yaml::Reader value = map.child(name);
    if (header_names && !is_token(name)) {
      value.error(fmt::format("invalid header name '{}'", name.substr(0, 64)));
      continue;
    }
    if (!value.present()) {
      value.error("expected a value");
      continue;
    }
    auto t = parse_template(value, TemplateScope::Branch);
    if (!t) continue;
    if (header_names) {
      auto literals = t->literals();
      if (std::any_of(literals.begin(), literals.end(), has_control)) {
        value.error("header value contains a control character (CR, LF, ...)");
        continue;
      }
    }
    out.emplace_back(name, std::move(*t));
  }
  return out;
}

std::optional<std::string> parse_method(const yaml::Reader& action) {
  auto method = action.string("method", true);
  if (!method) return std::nullopt;
  if (std::find(kMethods.begin(), kMethods.end(), *method) == kMethods.end()) {
    action.child("method").error(
        fmt::format("unknown method '{}', expected one of: {}", method->substr(0, 64), fmt::join(kMethods, ", ")));
    return std::nullopt;
  }
  return method;
}

std::optional<Template> parse_path(const yaml::Reader& action) {
  yaml::Reader at = action.child("path");
  if (!at.present()) {
    at.error("required key is missing");
    return std::nullopt;
  }
  auto path = parse_template(at, TemplateScope::Branch);
  if (!path) return std::nullopt;
  if (!path->leading_literal().starts_with('/')) {
    at.error("must start with '/'");
    return std::nullopt;
  }
  auto literals = path->literals();
  if (!std::all_of(literals.begin(), literals.end(), is_path_text)) {
    at.error("may only contain URL path characters; put query parameters under `query`");
    return std::nullopt;
  }
  return path;
}

std::optional<ActionSpec> parse_action(const yaml::Reader& action) {
  if (!action.is_map()) {
    action.error("expected a map with method, path and outcomes");
    return std::nullopt;
  }
  std::size_t before = error_count(action);
  action.reject_unknown_keys({"method", "path", "query", "headers", "body", "form", "outcomes"});
  ActionSpec spec;
  auto method = parse_method(action);
  auto path = parse_path(action);
  spec.query = parse_template_map(action.child("query"), false);
  spec.headers = parse_template_map(action.child("headers"), true);
  yaml::Reader body = action.child("body");
  yaml::Reader form = action.child("form");
  if (body.present() && form.present()) {
    form.error("`body` and `form` are exclusive: a request has one body");
  } else if (body.present()) {
    if (body.is_map() || body.is_sequence()) {
      spec.body = JsonTemplate::parse(body, TemplateScope::Branch);
    } else {
      body.error("expected a map or a list (sent as JSON)");
    }
  } else {
    spec.form = parse_template_map(form, false);
  }
  spec.outcomes = parse_response_rules(action.child("outcomes"), outcome_rule_names());
  if (error_count(action) != before || !method || !path) return std::nullopt;
  spec.method = std::move(*method);
  spec.path = std::move(*path);
  return spec;
}

}  // namespace

const std::vector<std::string>& outcome_rule_names() {
  static const std::vector<std::string> kNames{
      std::string(to_string(Outcome::Done)), std::string(to_string(Outcome::AlreadyDone)),
      std::string(to_string(Outcome::NotFound)), std::string(to_string(Outcome::Retry)),
      std::string(to_string(Outcome::Fatal))};
  return kNames;
}

const ActionSpec* ParticipantSpec::action(Decision decision) const {
  if (decision == Decision::Cancel) return &cancel;
  return confirm ? &*confirm : nullptr;
}

std::shared_ptr<const ParticipantSpec> parse_participant_spec(const yaml::Reader& reader) {
  if (!reader.is_map()) {
    reader.error("expected a map with base_url and actions");
    return nullptr;
  }
  std::size_t before = error_count(reader);
  reader.reject_unknown_keys({"base_url", "timeout", "max_in_flight", "headers", "idempotency_header", "actions"});
  auto spec = std::make_shared<ParticipantSpec>();
  if (auto url = parse_base_url(reader)) spec->base_url = std::move(*url);
  if (auto timeout = reader.duration("timeout")) {
    if (timeout->count() <= 0) reader.child("timeout").error("must be longer than 0ms");
    spec->timeout = *timeout;
  }
  if (auto limit = reader.integer("max_in_flight", 1, kMaxInFlightLimit))
    spec->max_in_flight = static_cast<int>(*limit);
  spec->headers = parse_static_headers(reader);
  if (auto name = reader.string("idempotency_header")) {
    if (is_token(*name)) {
      spec->idempotency_header = std::move(*name);
    } else {
      reader.child("idempotency_header").error(fmt::format("invalid header name '{}'", name->substr(0, 64)));
    }
  }
  yaml::Reader actions = reader.child("actions");
  if (!actions.is_map()) {
    actions.error(actions.present() ? "expected a map with cancel and optionally confirm" : "required key is missing");
  } else {
    actions.reject_unknown_keys({"cancel", "confirm"});
    yaml::Reader cancel = actions.child("cancel");
    if (!cancel.present()) {
      cancel.error("required key is missing");
    } else if (auto action = parse_action(cancel)) {
      spec->cancel = std::move(*action);
    }
    if (actions.child("confirm").present()) spec->confirm = parse_action(actions.child("confirm"));
  }
  if (error_count(reader) != before) return nullptr;
  return spec;
}

std::map<std::string, std::shared_ptr<const ParticipantSpec>> parse_participants(const yaml::Reader& reader) {
  std::map<std::string, std::shared_ptr<const ParticipantSpec>> out;
  if (!reader.present()) return out;
  if (!reader.is_map()) {
    reader.error("expected a map of participant name to adapter definition");
    return out;
  }
  for (const auto& name : reader.keys()) {
    if (auto spec = parse_participant_spec(reader.child(name))) out.emplace(name, std::move(spec));
  }
  return out;
}

}  // namespace compensatord::adapters
