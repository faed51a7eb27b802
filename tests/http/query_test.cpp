#include "http/query.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::http {
namespace {

using namespace std::chrono_literals;

std::string problem_of(std::string_view query) {
  auto parsed = list_filter_from_query(query);
  if (auto* problem = std::get_if<PathProblem>(&parsed)) return problem->message;
  return "no problem";
}

store::ListFilter filter_of(std::string_view query) {
  auto parsed = list_filter_from_query(query);
  if (auto* problem = std::get_if<PathProblem>(&parsed)) ADD_FAILURE() << query << ": " << problem->message;
  return std::get_if<store::ListFilter>(&parsed) ? std::get<store::ListFilter>(parsed) : store::ListFilter{};
}

TEST(ListQuery, NoQueryListsEverythingAHundredAtATime) {
  const auto filter = filter_of("");
  EXPECT_FALSE(filter.status);
  EXPECT_EQ(filter.kind, "");
  EXPECT_EQ(filter.after, "");
  EXPECT_EQ(filter.older_than, 0ms);
  EXPECT_EQ(filter.limit, 100);
}

TEST(ListQuery, EveryParameterIsReadAndDecoded) {
  const auto filter = filter_of(
      "status=PARKED&kind=order&participant=stock&source=kafka%3Aorders&older_than=2h&limit=1000&after=ORD%2F7+x");
  EXPECT_EQ(filter.status, Status::Parked);
  EXPECT_EQ(filter.kind, "order");
  EXPECT_EQ(filter.participant, "stock");
  EXPECT_EQ(filter.source, "kafka:orders");
  EXPECT_EQ(filter.older_than, 2h);
  EXPECT_EQ(filter.limit, 1000);
  EXPECT_EQ(filter.after, "ORD/7+x") << "a plus is a plus, as in xids";
  EXPECT_EQ(filter_of("status=ABANDONED&&").status, Status::Abandoned);
}

TEST(ListQuery, MistakesAreProblemsNamingTheParameter) {
  EXPECT_EQ(problem_of("stauts=PARKED"), "unknown query parameter 'stauts'");
  EXPECT_EQ(problem_of("status=parked").substr(0, 17), "status must be on");
  EXPECT_EQ(problem_of("status=PARKED&status=PENDING"), "query parameter status is given more than once");
  EXPECT_EQ(problem_of("limit=0"), "limit must be a whole number from 1 to 1000");
  EXPECT_EQ(problem_of("limit=1001"), "limit must be a whole number from 1 to 1000");
  EXPECT_EQ(problem_of("limit=10abc"), "limit must be a whole number from 1 to 1000");
  EXPECT_EQ(problem_of("limit=-5"), "limit must be a whole number from 1 to 1000");
  EXPECT_EQ(problem_of("limit=99999999999999999999999"), "limit must be a whole number from 1 to 1000");
  EXPECT_EQ(problem_of("older_than=yesterday"),
            "older_than must be a duration like 90s, 15m, 2h or 7d, at most 36500d");
  EXPECT_EQ(problem_of("older_than=999999999d"),
            "older_than must be a duration like 90s, 15m, 2h or 7d, at most 36500d");
  EXPECT_EQ(filter_of("older_than=36500d").older_than, std::chrono::hours(24 * 36'500));
  EXPECT_EQ(problem_of("after="), "after must be an xid of 1..256 bytes");
  EXPECT_EQ(problem_of("kind="), "kind must be 1..512 bytes");
  EXPECT_EQ(problem_of("kind=%"), "malformed percent-encoding in the query");
  EXPECT_EQ(problem_of("kind=a%00b"), "kind must be UTF-8 text without NUL");
  EXPECT_EQ(problem_of("source=%FF"), "source must be UTF-8 text without NUL");
}

TEST(ListQuery, HostileQueriesAreRefusedShortly) {
  EXPECT_EQ(problem_of(std::string(1024 * 1024, 'a')), "the query must be at most 8192 bytes");
  EXPECT_EQ(problem_of("participant=" + std::string(600, 'p')), "participant must be 1..512 bytes");
  const auto named = problem_of("%1B%5B31m" + std::string(500, 'x') + "=1");
  EXPECT_LT(named.size(), 120u);
  EXPECT_EQ(named.find('\x1b'), std::string::npos) << "no terminal escapes echoed: " << named;
}

TEST(AttemptPagingQuery, DefaultsBoundsAndMistakes) {
  const auto paging = std::get<AttemptPaging>(attempt_paging_from_query(""));
  EXPECT_EQ(paging.after_id, 0);
  EXPECT_EQ(paging.limit, 100);
  const auto next = std::get<AttemptPaging>(attempt_paging_from_query("attempts_after=42&attempts_limit=7"));
  EXPECT_EQ(next.after_id, 42);
  EXPECT_EQ(next.limit, 7);
  for (std::string_view bad : {"attempts_after=-1", "attempts_after=x", "attempts_limit=0", "attempts_limit=5000",
                               "limit=5", "attempts_after=1&attempts_after=2"}) {
    EXPECT_TRUE(std::holds_alternative<PathProblem>(attempt_paging_from_query(bad))) << bad;
  }
}

}  // namespace
}  // namespace compensatord::http
