#include "adapters/participant_spec.hpp"
#include "adapters/participant.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdlib>
#include <string>

namespace compensatord::adapters {
namespace {

using testing::has_error;
using testing::parse_spec;

const char* const kMinimal = R"(
base_url: http://stock.legacy:8080/
actions:
  cancel:
    method: POST
    path: /api/stock/rollback/{{xid}}
)";

// Parses a file's `participants:` map, as the daemon's config loader does.
std::map<std::string, std::shared_ptr<const ParticipantSpec>> parse_file(const std::string& relative,
                                                                         yaml::ConfigErrors& errors) {
  YAML::Node root = YAML::LoadFile(std::string(COMPENSATORD_SOURCE_DIR) + "/" + relative);
  return parse_participants(yaml::Reader(root, "", errors).child("participants"));
}

TEST(ParticipantSpec, DefaultsApply) {
  auto parsed = parse_spec(kMinimal);
  ASSERT_TRUE(parsed->spec) << parsed->errors.to_string();
  const auto& spec = *parsed->spec;
  EXPECT_EQ(spec.base_url, "http://stock.legacy:8080") << "trailing '/' is dropped";
  EXPECT_EQ(spec.timeout, std::chrono::seconds(5));
  EXPECT_EQ(spec.max_in_flight, 16);
  EXPECT_EQ(spec.idempotency_header, "Idempotency-Key");
  EXPECT_TRUE(spec.headers.empty());
  EXPECT_EQ(spec.action(Decision::Confirm), nullptr);
  ASSERT_NE(spec.action(Decision::Cancel), nullptr);
  EXPECT_EQ(spec.cancel.method, "POST");
  EXPECT_TRUE(spec.cancel.outcomes.empty());
}

TEST(ParticipantSpec, EnvironmentIsExpandedInBaseUrlAndHeaders) {
  ::setenv("ADAPTER_TEST_URL", "https://stock.example:8443", 1);
  ::setenv("ADAPTER_TEST_TOKEN", "s3cret", 1);
  auto parsed = parse_spec(R"(
base_url: "${ADAPTER_TEST_URL}/legacy"
headers: {Authorization: "Bearer ${ADAPTER_TEST_TOKEN}"}
timeout: 250ms
max_in_flight: 10000
idempotency_header: X-Request-Id
actions:
  cancel: {method: DELETE, path: "/lock/{{branch.sku}}"}
  confirm: {method: PATCH, path: "/lock/{{branch.sku}}", form: {state: used}}
)");
  ASSERT_TRUE(parsed->spec) << parsed->errors.to_string();
  EXPECT_EQ(parsed->spec->base_url, "https://stock.example:8443/legacy");
  ASSERT_EQ(parsed->spec->headers.size(), 1u);
  EXPECT_EQ(parsed->spec->headers[0].second, "Bearer s3cret");
  EXPECT_EQ(parsed->spec->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(parsed->spec->max_in_flight, 10000);
  EXPECT_EQ(parsed->spec->idempotency_header, "X-Request-Id");
  ASSERT_NE(parsed->spec->action(Decision::Confirm), nullptr);
  EXPECT_EQ(parsed->spec->confirm->form.size(), 1u);
}

TEST(ParticipantSpec, UnsetVariableIsNamedNotItsValue) {
  ::unsetenv("ADAPTER_TEST_UNSET");
  auto parsed = parse_spec(R"(
base_url: "${ADAPTER_TEST_UNSET}"
actions: {cancel: {method: POST, path: /x}}
)");
  EXPECT_FALSE(parsed->spec);
  EXPECT_TRUE(has_error(parsed->errors, "participants.stock.base_url", 2, "ADAPTER_TEST_UNSET is not set"));
}

TEST(ParticipantSpec, EveryBadParticipantFieldNamesPathAndLine) {
  auto parsed = parse_spec(R"(
base_url: ftp://stock
timeout: soon
max_in_flight: 0
headers: {"Bad Name": x, X-Ok: "a\r\nX-Evil: 1", X-Map: {a: 1}}
idempotency_header: "Idem Key"
retries: 3
actions:
  refund: {method: POST, path: /x}
  confirm: {method: POST, path: /x}
)");
  const auto& e = parsed->errors;
  EXPECT_FALSE(parsed->spec);
  EXPECT_TRUE(has_error(e, "participants.stock.base_url", 2, "http:// or https://"));
  EXPECT_TRUE(has_error(e, "participants.stock.timeout", 3, "expected a duration"));
  EXPECT_TRUE(has_error(e, "participants.stock.max_in_flight", 4, "between 1 and 10000"));
  EXPECT_TRUE(has_error(e, "participants.stock.headers.Bad Name", 5, "invalid header name"));
  EXPECT_TRUE(has_error(e, "participants.stock.headers.X-Ok", 5, "control character"));
  EXPECT_TRUE(has_error(e, "participants.stock.headers.X-Map", 5, "expected a string"));
  EXPECT_TRUE(has_error(e, "participants.stock.idempotency_header", 6, "invalid header name"));
  EXPECT_TRUE(has_error(e, "participants.stock.retries", 7, "unknown key 'retries'"));
  EXPECT_TRUE(has_error(e, "participants.stock.actions.refund", 9, "unknown key 'refund'"));
  EXPECT_TRUE(has_error(e, "participants.stock.actions.cancel", 9, "required key is missing"));
}

TEST(ParticipantSpec, BaseUrlShapes) {
  for (const char* bad : {"http://", "https:///x", "http://h?x=1", "http://h#f", "http://h x", "stock:8080", "10001"}) {
    auto parsed = parse_spec(fmt::format("base_url: \"{}\"\nactions: {{cancel: {{method: POST, path: /x}}}}", bad));
    EXPECT_FALSE(parsed->spec) << bad;
    EXPECT_TRUE(has_error(parsed->errors, "participants.stock.base_url", 1, "")) << bad;
  }
  auto missing = parse_spec("actions: {cancel: {method: POST, path: /x}}");
  EXPECT_TRUE(has_error(missing->errors, "participants.stock.base_url", 1, "required key is missing"));
}

TEST(ParticipantSpec, LimitsAreEnforced) {
  for (const char* bad : {"max_in_flight: 10001", "max_in_flight: -1", "max_in_flight: x", "timeout: 0ms", "timeout: 5",
                          "max_in_flight: 99999999999999999999999"}) {
    auto parsed =
        parse_spec(fmt::format("base_url: http://h\n{}\nactions: {{cancel: {{method: POST, path: /x}}}}", bad));
    EXPECT_FALSE(parsed->spec) << bad;
    EXPECT_EQ(parsed->errors.all().size(), 1u) << bad << "\n" << parsed->errors.to_string();
    if (!parsed->errors.empty()) {
      EXPECT_EQ(parsed->errors.all()[0].line, 2) << bad;
    }
  }
}

TEST(ParticipantSpec, EveryBadActionFieldNamesPathAndLine) {
  auto parsed = parse_spec(R"(
base_url: http://stock
actions:
  cancel:
    method: BREW
    path: "api/{{xid}}"
    query: [a, b]
    headers: {"X Bad": "1", X-Line: "a\nb", X-T: "{{nope}}"}
    body: "just text"
    bodyy: {}
    outcomes:
      - {status: [200], then: maybe}
  confirm:
    path: "/x?y={{xid}}"
    body: {a: "{{xid"}
    form: {b: c}
    outcomes: {then: done}
)");
  const auto& e = parsed->errors;
  const std::string cancel = "participants.stock.actions.cancel";
  const std::string confirm = "participants.stock.actions.confirm";
  EXPECT_FALSE(parsed->spec);
  EXPECT_TRUE(has_error(e, cancel + ".method", 5, "unknown method 'BREW', expected one of: GET, POST"));
  EXPECT_TRUE(has_error(e, cancel + ".path", 6, "must start with '/'"));
  EXPECT_TRUE(has_error(e, cancel + ".query", 7, "expected a map"));
  EXPECT_TRUE(has_error(e, cancel + ".headers.X Bad", 8, "invalid header name"));
  EXPECT_TRUE(has_error(e, cancel + ".headers.X-Line", 8, "control character"));
  EXPECT_TRUE(has_error(e, cancel + ".headers.X-T", 8, "unknown placeholder"));
  EXPECT_TRUE(has_error(e, cancel + ".body", 9, "expected a map or a list"));
  EXPECT_TRUE(has_error(e, cancel + ".bodyy", 10, "unknown key 'bodyy'"));
  EXPECT_TRUE(has_error(e, cancel + ".outcomes[0].then", 12, "unknown outcome 'maybe'"));
  EXPECT_TRUE(has_error(e, confirm + ".method", 14, "required key is missing"));
  EXPECT_TRUE(has_error(e, confirm + ".path", 14, "put query parameters under `query`"));
  EXPECT_TRUE(has_error(e, confirm + ".form", 16, "exclusive"));
  EXPECT_TRUE(has_error(e, confirm + ".outcomes", 17, "expected a list"));
}

TEST(ParticipantSpec, BadPathTemplateAndBodyTemplate) {
  auto parsed = parse_spec(R"(
base_url: http://stock
actions:
  cancel:
    method: POST
    path: "/a/{{xid"
    body: {orderNo: "{{branch.}}"}
)");
  EXPECT_FALSE(parsed->spec);
  EXPECT_TRUE(has_error(parsed->errors, "participants.stock.actions.cancel.path", 6, "unclosed"));
  EXPECT_TRUE(has_error(parsed->errors, "participants.stock.actions.cancel.body.orderNo", 7, "invalid branch field"));
}

TEST(ParticipantSpec, NotAMap) {
  auto parsed = parse_spec("[1, 2]");
  EXPECT_FALSE(parsed->spec);
  EXPECT_TRUE(has_error(parsed->errors, "participants.stock", 1, "expected a map"));
  auto actions = parse_spec("base_url: http://h\nactions: [cancel]");
  EXPECT_TRUE(has_error(actions->errors, "participants.stock.actions", 2, "expected a map"));
}

TEST(ParticipantSpec, HugeValuesAreRejectedWithShortErrors) {
  std::string huge(1 << 20, 'A');
  auto parsed = parse_spec(fmt::format("base_url: http://h\nactions: {{cancel: {{method: {}, path: /x}}}}", huge));
  EXPECT_FALSE(parsed->spec);
  ASSERT_EQ(parsed->errors.all().size(), 1u);
  EXPECT_LT(parsed->errors.all()[0].message.size(), 300u);
}

TEST(ParseParticipants, ExampleConfigParses) {
  ::setenv("STOCK_TOKEN", "t", 1);
  yaml::ConfigErrors errors;
  auto participants = parse_file("config/example.yaml", errors);
  EXPECT_TRUE(errors.empty()) << errors.to_string();
  ASSERT_EQ(participants.size(), 2u);
  EXPECT_EQ(participants.at("stock")->max_in_flight, 64);
  EXPECT_EQ(participants.at("coupon")->timeout, std::chrono::seconds(2));
}

TEST(ParseParticipants, ReadyDefinitionsParse) {
  ::setenv("STOCK_URL", "http://127.0.0.1:18080", 1);
  ::setenv("COUPON_URL", "http://127.0.0.1:18081", 1);
  for (const char* file : {"adapters/definitions/stock.yaml", "adapters/definitions/coupon.yaml"}) {
    yaml::ConfigErrors errors;
    auto participants = parse_file(file, errors);
    EXPECT_TRUE(errors.empty()) << file << "\n" << errors.to_string();
    ASSERT_EQ(participants.size(), 1u) << file;
    const auto& spec = *participants.begin()->second;
    EXPECT_TRUE(spec.base_url.starts_with("http://127.0.0.1:1808")) << file;
    ASSERT_NE(spec.action(Decision::Confirm), nullptr) << file;
    // The contract's answers (see the sample services): a bare 404 from a proxy is not "never locked".
    const auto& cancel = spec.cancel.outcomes;
    EXPECT_EQ(cancel.match(200, R"({"code":0})"), "done") << file;
    EXPECT_EQ(cancel.match(200, R"({"code":1002})"), "already_done") << file;
    EXPECT_EQ(cancel.match(404, R"({"code":1001,"msg":"order not found"})"), "not_found") << file;
    EXPECT_EQ(cancel.match(404, "<html>Not Found</html>"), std::nullopt) << file;
    EXPECT_EQ(cancel.match(409, R"({"code":1005})"), "fatal") << file;
    EXPECT_EQ(cancel.match(503, ""), std::nullopt) << file;
    const auto& confirm = spec.confirm->outcomes;
    EXPECT_EQ(confirm.match(200, R"({"code":0})"), "done") << file;
    EXPECT_EQ(confirm.match(404, R"({"code":1001})"), "fatal") << file;
  }
}

TEST(ParseParticipants, ErrorsOfEveryParticipantAreCollected) {
  yaml::ConfigErrors errors;
  yaml::Reader reader(YAML::Load(R"(
participants:
  stock: {base_url: http://s, actions: {cancel: {method: POST, path: /x}}}
  coupon: {base_url: http://c}
  points: {actions: {cancel: {method: POST, path: /x}}}
)"),
                      "", errors);
  auto participants = parse_participants(reader.child("participants"));
  EXPECT_EQ(participants.size(), 1u);
  EXPECT_TRUE(has_error(errors, "participants.coupon.actions", 4, "required key is missing"));
  EXPECT_TRUE(has_error(errors, "participants.points.base_url", 5, "required key is missing"));
}

}  // namespace
}  // namespace compensatord::adapters
