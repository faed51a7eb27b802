#include "adapters/template.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::adapters {
namespace {

using testing::make_branch;
using testing::make_txn;

Template must_parse(std::string_view text, TemplateScope scope = TemplateScope::Branch) {
  std::string error;
  auto t = Template::parse(text, scope, error);
  EXPECT_TRUE(t.has_value()) << error;
  return t.value_or(Template{});
}

std::string parse_error(std::string_view text, TemplateScope scope = TemplateScope::Branch) {
  std::string error;
  auto t = Template::parse(text, scope, error);
  EXPECT_FALSE(t.has_value()) << "parsed: " << text.substr(0, 80);
  return error;
}

TEST(Template, RendersEveryPlaceholderRoot) {
  auto txn = make_txn("ORD-1");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}}, 3, "stock");
  auto t = must_parse("{{xid}}|{{kind}}|{{branch.no}}|{{branch.participant}}|{{branch.sku}}|{{ branch.qty }}");
  EXPECT_EQ(t.render({txn, &branch}, Escape::Raw), "ORD-1|order|3|stock|A-1|2");
}

TEST(Template, LiteralTextAndSingleBracesAreKept) {
  auto txn = make_txn("X");
  auto t = must_parse("{a} }} {b}{{xid}}");
  EXPECT_EQ(t.render({txn}, Escape::Raw), "{a} }} {b}X");
  EXPECT_FALSE(must_parse("plain").has_placeholders());
}

TEST(Template, ParseErrorsNameTheProblem) {
  EXPECT_NE(parse_error("/api/{{xid").find("unclosed"), std::string::npos);
  EXPECT_NE(parse_error("{{order}}").find("unknown placeholder '{{order}}'"), std::string::npos);
  EXPECT_NE(parse_error("{{}}").find("unknown placeholder"), std::string::npos);
  EXPECT_NE(parse_error("{{branch.}}").find("invalid branch field"), std::string::npos);
  EXPECT_NE(parse_error("{{branch.a b}}").find("invalid branch field"), std::string::npos);
  EXPECT_NE(parse_error("{{branch.sku}}", TemplateScope::Transaction).find("no branch here"), std::string::npos);
  // Found by the fuzzer (tests/fuzz/regressions/template): a body rendered from it could not be
  // serialised, so every call of the action failed at render time instead of the config at load.
  EXPECT_EQ(parse_error(" {\x88n,{{xid}}"), "not valid UTF-8");
  EXPECT_EQ(parse_error("caf\xC3"), "not valid UTF-8");
}

TEST(Template, HugeAndHostileTemplateTextIsAnErrorNotACrash) {
  std::string opens;
  for (int i = 0; i < 500'000; ++i) opens += "{{";
  EXPECT_NE(parse_error(opens).find("unclosed"), std::string::npos);
  std::string unknown = "{{" + std::string(1 << 20, 'z') + "}}";
  EXPECT_LT(parse_error(unknown).size(), 300u) << "the error must not echo a megabyte";
  std::string bad_field = "{{branch." + std::string(1 << 20, ' ') + "x}}";
  EXPECT_LT(parse_error(bad_field).size(), 300u);
}

TEST(Template, PathSegmentEncodesEverythingButUnreserved) {
  auto txn = make_txn("a/../b?x=1&\"}#% ~_.-Z9");
  auto t = must_parse("/api/stock/rollback/{{xid}}");
  EXPECT_EQ(t.render({txn}, Escape::PathSegment), "/api/stock/rollback/a%2F..%2Fb%3Fx%3D1%26%22%7D%23%25%20~_.-Z9");
}

TEST(Template, UnicodeIsPercentEncodedAsUtf8Bytes) {
  auto txn = make_txn("订单-ü");
  EXPECT_EQ(must_parse("{{xid}}").render({txn}, Escape::QueryValue), "%E8%AE%A2%E5%8D%95-%C3%BC");
}

TEST(Template, HeaderValueRefusesControlCharacters) {
  auto t = must_parse("order {{xid}}");
  for (const std::string& xid :
       std::vector<std::string>{"a\r\nX-Evil: 1", "a\nb", "a\rb", std::string("a\0b", 3), "a\x7f", "a\tb"}) {
    auto txn = make_txn(xid);
    EXPECT_THROW((void)t.render({txn}, Escape::HeaderValue), RenderError) << xid;
  }
  auto ok = make_txn("ORD-ü 1");
  EXPECT_EQ(t.render({ok}, Escape::HeaderValue), "order ORD-ü 1");
}

TEST(Template, MissingOrNonScalarBranchFieldIsARenderError) {
  auto txn = make_txn("X");
  auto branch = make_branch({{"sku", "A"}, {"tags", {1, 2}}, {"gone", nullptr}});
  try {
    (void)must_parse("{{branch.qty}}").render({txn, &branch}, Escape::Raw);
    FAIL() << "rendered a missing field";
  } catch (const RenderError& e) {
    EXPECT_NE(std::string(e.what()).find("no field 'qty'"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)must_parse("{{branch.tags}}").render({txn, &branch}, Escape::Raw), RenderError);
  EXPECT_THROW((void)must_parse("x{{branch.gone}}").render({txn, &branch}, Escape::Raw), RenderError);
  EXPECT_THROW((void)must_parse("{{branch.sku}}").render({txn}, Escape::Raw), RenderError) << "no branch given";
}

TEST(Template, SinglePlaceholderKeepsTheJsonType) {
  auto txn = make_txn("X");
  auto branch = make_branch({{"qty", 2}, {"price", 1.5}, {"gift", true}, {"note", nullptr}, {"sku", "007"}});
  EXPECT_EQ(must_parse("{{branch.qty}}").render_json({txn, &branch}), nlohmann::ordered_json(2));
  EXPECT_EQ(must_parse("{{branch.price}}").render_json({txn, &branch}), nlohmann::ordered_json(1.5));
  EXPECT_EQ(must_parse("{{branch.gift}}").render_json({txn, &branch}), nlohmann::ordered_json(true));
  EXPECT_EQ(must_parse("{{branch.sku}}").render_json({txn, &branch}), nlohmann::ordered_json("007"));
  EXPECT_EQ(must_parse("{{branch.qty}} pcs").render_json({txn, &branch}), nlohmann::ordered_json("2 pcs"));
  EXPECT_EQ(must_parse("{{branch.no}}").render_json({txn, &branch}), nlohmann::ordered_json(0));
}

// Only scalars fill a JSON body value: structure from a branch field would change the request's
// meaning ({"qty": {"$gt": 0}}), and null is no quantity either.
TEST(Template, ASinglePlaceholderOfNullObjectOrArrayIsARenderError) {
  auto txn = make_txn("X");
  auto branch = make_branch({{"note", nullptr}, {"qty", {{"$gt", 0}}}, {"skus", {"A", "B"}}});
  for (const char* text : {"{{branch.note}}", "{{branch.qty}}", "{{branch.skus}}"}) {
    try {
      (void)must_parse(text).render_json({txn, &branch});
      ADD_FAILURE() << text << " rendered";
    } catch (const RenderError& e) {
      EXPECT_NE(std::string(e.what()).find("not a string, number or boolean"), std::string::npos) << e.what();
    }
  }
}

// "." and ".." are unreserved and stay as they are; a server resolves such a segment to another
// endpoint, so a path that would hold one is refused, wherever the dots came from.
TEST(Template, APathWithADotSegmentIsARenderError) {
  auto txn = make_txn("..");
  auto branch = make_branch({{"sku", "."}, {"half", "."}, {"fine", "..a"}});
  EXPECT_THROW((void)must_parse("/api/stock/{{branch.sku}}/release").render({txn, &branch}, Escape::PathSegment),
               RenderError);
  EXPECT_THROW((void)must_parse("/check/{{xid}}").render({txn, &branch}, Escape::PathSegment), RenderError);
  EXPECT_THROW((void)must_parse("/check/{{xid}}?a=1").render({txn, &branch}, Escape::PathSegment), RenderError);
  EXPECT_THROW((void)must_parse("/a/{{branch.half}}{{branch.half}}").render({txn, &branch}, Escape::PathSegment),
               RenderError);
  EXPECT_EQ(must_parse("/a/{{branch.fine}}/b").render({txn, &branch}, Escape::PathSegment), "/a/..a/b");
  EXPECT_EQ(must_parse("{{xid}}").render({txn, &branch}, Escape::QueryValue), "..") << "a query value is no segment";
}

TEST(Template, HugeValuesRenderWhole) {
  std::string huge(1 << 20, 'x');
  huge[12345] = '/';
  auto txn = make_txn(huge);
  std::string path = must_parse("/a/{{xid}}").render({txn}, Escape::PathSegment);
  EXPECT_EQ(path.size(), 3 + huge.size() + 2);
  EXPECT_EQ(path.find('/', 3), std::string::npos);
}

TEST(YamlScalar, PlainScalarsAreTypedQuotedOnesAreStrings) {
  auto node = YAML::Load("{i: 0, f: 0.5, t: true, n: null, s: abc, q: '0', big: 1e400, inf: inf}");
  EXPECT_EQ(yaml_scalar_to_json(node["i"]), nlohmann::json(0));
  EXPECT_TRUE(yaml_scalar_to_json(node["i"]).is_number_integer());
  EXPECT_EQ(yaml_scalar_to_json(node["f"]), nlohmann::json(0.5));
  EXPECT_EQ(yaml_scalar_to_json(node["t"]), nlohmann::json(true));
  EXPECT_TRUE(yaml_scalar_to_json(node["n"]).is_null());
  EXPECT_EQ(yaml_scalar_to_json(node["s"]), nlohmann::json("abc"));
  EXPECT_EQ(yaml_scalar_to_json(node["q"]), nlohmann::json("0"));
  EXPECT_TRUE(yaml_scalar_to_json(node["big"]).is_string()) << "out of range numbers stay text";
  EXPECT_TRUE(yaml_scalar_to_json(node["inf"]).is_string());
}

TEST(JsonTemplate, BodyKeepsStructureAndTypes) {
  yaml::ConfigErrors errors;
  yaml::Reader reader(YAML::Load(R"({orderNo: "{{xid}}", qty: "{{branch.qty}}", fixed: 7, flag: false,
                                      lines: [{sku: "{{branch.sku}}"}, "{{kind}}-{{branch.no}}"], none: ~})"),
                      "body", errors);
  auto body = JsonTemplate::parse(reader, TemplateScope::Branch);
  ASSERT_TRUE(body.has_value()) << errors.to_string();
  auto txn = make_txn("ORD-\"1\"");
  auto branch = make_branch({{"sku", "A-1"}, {"qty", 2}});
  auto rendered = body->render({txn, &branch});
  auto expected = nlohmann::ordered_json::parse(
      R"({"orderNo":"ORD-\"1\"","qty":2,"fixed":7,"flag":false,"lines":[{"sku":"A-1"},"order-0"],"none":null})");
  EXPECT_EQ(rendered, expected);
}

TEST(JsonTemplate, ParseErrorsNameTheKeyAndLine) {
  yaml::ConfigErrors errors;
  yaml::Reader reader(YAML::Load("a: ok\nb:\n  c: \"{{xid\"\n  d: [1, \"{{nope}}\"]\n"), "body", errors);
  EXPECT_FALSE(JsonTemplate::parse(reader, TemplateScope::Branch).has_value());
  EXPECT_TRUE(testing::has_error(errors, "body.b.c", 3, "unclosed"));
  EXPECT_TRUE(testing::has_error(errors, "body.b.d[1]", 4, "unknown placeholder"));
}

}  // namespace
}  // namespace compensatord::adapters
