// The `check:` config: every bad field is an error with its key path and line.
#include "check/check.hpp"
#include "check/check_spec.hpp"

#include <gtest/gtest.h>

namespace compensatord::check {
namespace {

struct Parsed {
  yaml::ConfigErrors errors;
  std::shared_ptr<const CheckSpec> spec;
};

Parsed parse(const std::string& yaml) {
  Parsed out;
  out.spec = parse_check(yaml::Reader(YAML::Load(yaml), "kinds.order.check", out.errors));
  return out;
}

::testing::AssertionResult has_error(const Parsed& p, const std::string& path, int line, const std::string& text) {
  for (const auto& e : p.errors.all()) {
    if (e.path == path && e.line == line && e.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error " << path << " (line " << line << ") ~ '" << text << "' in:\n"
                                       << p.errors.to_string();
}

TEST(ParseCheck, SqlCheckWithValueMapping) {
  auto p = parse(
      "sql:\n  dsn: postgresql://x/orders\n  query: SELECT status FROM orders WHERE no = $1\n  timeout: 250ms\n"
      "  committed_values: [PAID, SHIPPED]\n  absent_values: [CANCELLED]\n");
  ASSERT_TRUE(p.spec) << p.errors.to_string();
  const auto& sql = std::get<SqlCheckSpec>(p.spec->how);
  EXPECT_EQ(sql.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(sql.committed_values, (std::vector<std::string>{"PAID", "SHIPPED"}));
  EXPECT_EQ(sql.absent_values, (std::vector<std::string>{"CANCELLED"}));
  EXPECT_EQ(sql.max_connections, 16) << "the default";
}

TEST(ParseCheck, MaxConnectionsIsAnIntegerFromOneTo256) {
  auto p = parse("sql:\n  dsn: a\n  query: SELECT $1\n  max_connections: 32\n");
  ASSERT_TRUE(p.spec) << p.errors.to_string();
  EXPECT_EQ(std::get<SqlCheckSpec>(p.spec->how).max_connections, 32);
  for (const std::string bad : {"0", "-1", "257", "99999999999999999999", "eight", "[8]", "1.5"}) {
    EXPECT_TRUE(has_error(parse("sql:\n  dsn: a\n  query: SELECT $1\n  max_connections: " + bad + "\n"),
                          "kinds.order.check.sql.max_connections", 4, ""))
        << bad;
  }
}

TEST(ParseCheck, HttpCheckSplitsTheUrl) {
  auto p = parse(
      "http:\n  url: http://order.legacy:8080/api/order/{{xid}}\n  query: {src: compensatord}\n"
      "  outcomes:\n    - {status: [200], then: committed}\n    - {status: [404], then: absent}\n");
  ASSERT_TRUE(p.spec) << p.errors.to_string();
  const auto& http = std::get<HttpCheckSpec>(p.spec->how);
  EXPECT_EQ(http.base_url, "http://order.legacy:8080");
  EXPECT_EQ(http.method, "GET");
  EXPECT_EQ(http.query.size(), 1u);
}

TEST(ParseCheck, NeitherOrBothKindsAreRejected) {
  EXPECT_TRUE(has_error(parse("{}"), "kinds.order.check", 1, "exactly one of"));
  auto both = parse("sql: {dsn: a, query: 'SELECT $1'}\nhttp: {url: 'http://x/', outcomes: []}\n");
  EXPECT_FALSE(both.spec);
  EXPECT_TRUE(has_error(both, "kinds.order.check", 1, "exactly one of"));
  EXPECT_TRUE(has_error(parse("just a string"), "kinds.order.check", 1, "expected a map"));
}

TEST(ParseCheck, BadFieldsNameTheirPathAndLine) {
  EXPECT_TRUE(has_error(parse("sql:\n  dsn: a\n  query: SELECT 1\n"), "kinds.order.check.sql.query", 3, "$1"));
  EXPECT_TRUE(has_error(parse("sql:\n  query: SELECT $1\n"), "kinds.order.check.sql.dsn", 2, "required"));
  EXPECT_TRUE(has_error(parse("sql:\n  dsn: a\n  query: SELECT $1\n  timeout: 0s\n"), "kinds.order.check.sql.timeout",
                        4, "greater than 0"));
  EXPECT_TRUE(has_error(parse("sql:\n  dsn: a\n  query: SELECT $1\n  timout: 1s\n"), "kinds.order.check.sql.timout", 4,
                        "unknown key"));
  EXPECT_TRUE(
      has_error(parse("http:\n  url: ftp://x/{{xid}}\n  outcomes: []\n"), "kinds.order.check.http.url", 2, "http(s)"));
  EXPECT_TRUE(has_error(parse("http:\n  url: http://x/a?b={{xid}}\n  outcomes: []\n"), "kinds.order.check.http.url", 2,
                        "query"));
  EXPECT_TRUE(
      has_error(parse("http:\n  url: http://{{xid}}/a\n  outcomes: []\n"), "kinds.order.check.http.url", 2, "http(s)"));
  EXPECT_TRUE(has_error(parse("http:\n  url: http://x/{{branch.sku}}\n  outcomes: []\n"), "kinds.order.check.http.url",
                        2, "branch"));
  EXPECT_TRUE(has_error(parse("http:\n  url: http://x/{{xid}}\n"), "kinds.order.check.http.outcomes", 2, "required"));
  EXPECT_TRUE(has_error(parse("http:\n  url: http://x/{{xid}}\n  method: DELETE\n  outcomes: []\n"),
                        "kinds.order.check.http.method", 3, "GET or POST"));
  EXPECT_TRUE(has_error(parse("http:\n  url: http://x/{{xid}}\n  outcomes:\n    - {status: [200], then: done}\n"),
                        "kinds.order.check.http.outcomes[0].then", 4, "committed"));
}

TEST(ParseCheck, HugeAndHostileValuesDoNotCrash) {
  const std::string huge(1 << 20, 'x');
  auto p = parse("sql:\n  dsn: '" + huge + "'\n  query: 'SELECT $1 -- " + huge + "'\n");
  EXPECT_TRUE(p.spec) << p.errors.to_string();
  auto q = parse("http:\n  url: 'http://x/{{" + huge + "'\n  outcomes: []\n");
  EXPECT_FALSE(q.spec);
  EXPECT_FALSE(q.errors.empty());
}

}  // namespace
}  // namespace compensatord::check
