#include "adapters/response_rules.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::adapters {
namespace {

const std::vector<std::string> kNames{"done", "already_done", "not_found", "retry", "fatal"};

struct Parsed {
  yaml::ConfigErrors errors;
  ResponseRules rules;
};

std::unique_ptr<Parsed> parse(const std::string& yaml) {
  auto out = std::make_unique<Parsed>();
  yaml::Reader reader(YAML::Load(yaml), "outcomes", out->errors);
  out->rules = parse_response_rules(reader, kNames);
  return out;
}

ResponseRules must_parse(const std::string& yaml) {
  auto parsed = parse(yaml);
  EXPECT_TRUE(parsed->errors.empty()) << parsed->errors.to_string();
  return parsed->rules;
}

const char* const kStockRules = R"(
- {status: [200], json: {code: 0}, then: done}
- {status: [200], json: {code: 1002}, then: already_done}
- {status: [404], then: not_found}
- {status: [400, 409, 422], then: fatal}
- {status: ["5xx"], then: retry}
)";

TEST(ResponseRules, FirstMatchingRuleWins) {
  auto rules = must_parse(kStockRules);
  EXPECT_EQ(rules.match(200, R"({"code":0})"), "done");
  EXPECT_EQ(rules.match(200, R"({"code":1002,"msg":"x"})"), "already_done");
  EXPECT_EQ(rules.match(404, R"({"code":1001})"), "not_found");
  EXPECT_EQ(rules.match(404, "not json"), "not_found");
  EXPECT_EQ(rules.match(422, ""), "fatal");
  EXPECT_EQ(rules.match(503, ""), "retry");
  EXPECT_EQ(rules.match(200, R"({"code":7})"), std::nullopt);
  EXPECT_EQ(rules.match(302, ""), std::nullopt);
  auto overlapping = must_parse("[{status: [\"4xx\"], then: fatal}, {status: [404], then: not_found}]");
  EXPECT_EQ(overlapping.match(404, ""), "fatal");
}

TEST(ResponseRules, StatusClassesAndAnyStatus) {
  auto rules = must_parse(R"([{status: ["2xx", 304], then: done}, {status: "5XX", then: retry}, {then: fatal}])");
  EXPECT_EQ(rules.match(200, ""), "done");
  EXPECT_EQ(rules.match(299, ""), "done");
  EXPECT_EQ(rules.match(304, ""), "done");
  EXPECT_EQ(rules.match(599, ""), "retry");
  EXPECT_EQ(rules.match(300, ""), "fatal");
  EXPECT_EQ(rules.match(199, ""), "fatal");
}

TEST(ResponseRules, NumbersCompareByValueOtherTypesStrictly) {
  auto rules = must_parse(R"([{json: {code: 0}, then: done}, {json: {code: "0"}, then: retry},
                              {json: {ok: true}, then: already_done}, {json: {err: ~}, then: not_found}])");
  EXPECT_EQ(rules.match(200, R"({"code":0})"), "done");
  EXPECT_EQ(rules.match(200, R"({"code":0.0})"), "done");
  EXPECT_EQ(rules.match(200, R"({"code":-0.0})"), "done");
  EXPECT_EQ(rules.match(200, R"({"code":"0"})"), "retry");
  EXPECT_EQ(rules.match(200, R"({"code":false})"), std::nullopt);
  EXPECT_EQ(rules.match(200, R"({"ok":true})"), "already_done");
  EXPECT_EQ(rules.match(200, R"({"ok":"true"})"), std::nullopt);
  EXPECT_EQ(rules.match(200, R"({"err":null})"), "not_found");
  EXPECT_EQ(rules.match(200, R"({"code":1e400})"), std::nullopt) << "out of range number must not match";
  auto big = must_parse("[{json: {id: 9007199254740993}, then: done}]");
  EXPECT_EQ(big.match(200, R"({"id":9007199254740993})"), "done");
  EXPECT_EQ(big.match(200, R"({"id":9007199254740992})"), std::nullopt) << "large ids compare exactly";
}

TEST(ResponseRules, DottedPathsAndArrayIndexes) {
  auto rules = must_parse(R"([{json: {"data.state": DONE, "data.items.1.id": 7}, then: done}])");
  EXPECT_EQ(rules.match(200, R"({"data":{"state":"DONE","items":[{"id":1},{"id":7}]}})"), "done");
  EXPECT_EQ(rules.match(200, R"({"data":{"state":"DONE","items":[{"id":1}]}})"), std::nullopt);
  EXPECT_EQ(rules.match(200, R"({"data":{"state":"DONE","items":{"1":{"id":7}}}})"), "done");
  EXPECT_EQ(rules.match(200, R"({"data":"DONE"})"), std::nullopt);
  EXPECT_EQ(rules.match(200, R"({"data.state":"DONE"})"), std::nullopt);
  EXPECT_EQ(rules.match(200, R"(["DONE"])"), std::nullopt);
}

TEST(ResponseRules, NonJsonBodiesNeverMatchJsonRules) {
  auto rules = must_parse("[{json: {code: 0}, then: done}, {status: [200], then: retry}]");
  for (std::string body : {"", "code=0", "<html>0</html>", "{\"code\":0", "{\"code\":0}}", "\xff\xfe{}"}) {
    EXPECT_EQ(rules.match(200, body), "retry") << body;
  }
}

TEST(ResponseRules, HugeAndDeepBodiesAreHandled) {
  auto rules = must_parse("[{json: {code: 0}, then: done}, {then: retry}]");
  std::string huge = R"({"pad":")" + std::string(1 << 20, 'x') + R"(","code":0})";
  EXPECT_EQ(rules.match(200, huge), "done");
  EXPECT_EQ(rules.match(200, std::string(1 << 20, '[')), "retry");
  std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_EQ(rules.match(200, deep), "retry");
  EXPECT_EQ(rules.match(200, std::string(1 << 20, '\0')), "retry");
}

TEST(ResponseRules, AbsentRulesNeverMatch) {
  auto parsed = parse("~");
  EXPECT_TRUE(parsed->errors.empty());
  EXPECT_TRUE(parsed->rules.empty());
  EXPECT_EQ(parsed->rules.match(200, "{}"), std::nullopt);
}

TEST(ResponseRules, ParseErrorsNameKeyPathAndLine) {
  auto parsed = parse(R"(- {status: [200], then: maybe}
- {status: ["6xx", 99, abc, 1000], then: done}
- {status: {a: 1}, then: done}
- {json: {code: {a: 1}}, then: done}
- {json: {"a..b": 1}, then: done}
- {json: [1], then: done}
- {status: [200], then: done, retries: 3}
- {status: [200]}
- just text
- {status: [], then: done}
)");
  const auto& e = parsed->errors;
  EXPECT_TRUE(testing::has_error(e, "outcomes[0].then", 1, "unknown outcome 'maybe', expected one of: done"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[1].status[0]", 2, "got '6xx'"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[1].status[1]", 2, "got '99'"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[1].status[2]", 2, "got 'abc'"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[1].status[3]", 2, "got '1000'"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[2].status", 3, "status code"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[3].json.code", 4, "expected a scalar"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[4].json.a..b", 5, "empty segment"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[5].json", 6, "expected a map"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[6].retries", 7, "unknown key 'retries'"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[7].then", 8, "required key is missing"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[8]", 9, "expected a rule"));
  EXPECT_TRUE(testing::has_error(e, "outcomes[9].status", 10, "empty status list"));
  EXPECT_TRUE(parsed->rules.empty()) << "no broken rule is kept";

  auto not_a_list = parse("{status: [200], then: done}");
  EXPECT_TRUE(testing::has_error(not_a_list->errors, "outcomes", 1, "expected a list"));
}

TEST(ResponseRules, CallerChoosesTheAllowedNames) {
  yaml::ConfigErrors errors;
  yaml::Reader reader(YAML::Load("[{status: [200], then: committed}, {status: [404], then: done}]"), "check.outcomes",
                      errors);
  auto rules = parse_response_rules(reader, {"committed", "absent", "unknown"});
  EXPECT_TRUE(testing::has_error(errors, "check.outcomes[1].then", 1, "expected one of: committed, absent, unknown"));
  EXPECT_EQ(rules.match(200, ""), "committed");
}

}  // namespace
}  // namespace compensatord::adapters
