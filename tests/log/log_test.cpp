// A component's Log: its fields reach the json and text formats as values, whatever they hold.

#include "log/log.hpp"
#include "log/log_format.hpp"
#include "support/log_capture.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <regex>
#include <string>
#include <thread>
#include <vector>

// An argument that counts how often it is formatted.
struct Counted {
  int* count;
};

template <>
struct fmt::formatter<Counted> : fmt::formatter<std::string_view> {
  auto format(Counted counted, fmt::format_context& context) const {
    ++*counted.count;
    return fmt::formatter<std::string_view>::format("counted", context);
  }
};

namespace compensatord::log {
namespace {

using testing::LogCapture;

constexpr Log kReconciler{"reconciler"};

TEST(JsonLines, ALineCarriesTimeLevelComponentFieldsAndMessage) {
  LogCapture capture("json");
  kReconciler.warn({{"xid", "ORD-7"}}, "PARKED: stock said {:?}", "no");
  const auto lines = capture.json_lines();
  ASSERT_EQ(lines.size(), 1U) << capture.text();
  const auto& line = lines[0];
  EXPECT_TRUE(
      std::regex_match(line["time"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << line;
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["component"], "reconciler");
  EXPECT_EQ(line["xid"], "ORD-7");
  EXPECT_EQ(line["msg"], "PARKED: stock said \"no\"") << "the message no longer carries the xid";
  EXPECT_EQ(line.size(), 5U) << line;
}

TEST(JsonLines, NumbersStayNumbers) {
  LogCapture capture("json");
  constexpr Log kafka{"kafka"};
  kafka.info({{"topic", "orders"}, {"partition", 3}, {"offset", std::int64_t{9'007'199'254'740'993}}}, "dead-lettered");
  const auto line = capture.json_lines().at(0);
  EXPECT_EQ(line["topic"], "orders");
  EXPECT_TRUE(line["partition"].is_number_integer()) << line;
  EXPECT_EQ(line["partition"], 3);
  EXPECT_EQ(line["offset"].get<std::int64_t>(), 9'007'199'254'740'993);
}

TEST(JsonLines, AFieldCannotHideTheLinesOwnKeys) {
  LogCapture capture("json");
  kReconciler.error({{"msg", "forged"}, {"level", "info"}, {"component", "admin"}, {"time", "never"}}, "real");
  const auto line = capture.json_lines().at(0);
  EXPECT_EQ(line["msg"], "real");
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["component"], "reconciler");
  EXPECT_NE(line["time"], "never");
}

TEST(JsonLines, HostileValuesStayInsideTheirKeyOnOneLine) {
  LogCapture capture("json");
  const std::string huge(1 << 20, 'x');
  kReconciler.warn({{"xid", "A\n{\"xid\":\"B\"}\xff\xfe"}, {"participant", huge}}, "answer \xc3 was {}", "odd\n");
  const auto lines = capture.json_lines();
  ASSERT_EQ(lines.size(), 1U) << "a line break in a value split the line";
  EXPECT_EQ(lines[0]["xid"], "A\n{\"xid\":\"B\"}\xef\xbf\xbd\xef\xbf\xbd") << "invalid UTF-8 is replaced";
  EXPECT_EQ(lines[0]["participant"].get<std::string>().size(), huge.size());
  EXPECT_EQ(lines[0]["msg"], "answer \xef\xbf\xbd was odd\n");
}

TEST(JsonLines, ALineWrittenWithSpdlogDirectlyHasNoComponentAndNoFields) {
  LogCapture capture("json");
  kReconciler.info({{"xid", "ORD-1"}}, "finished: COMMITTED");
  spdlog::info("reconciler: xid=ORD-2 looks like a component");
  const auto lines = capture.json_lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[1]["component"], "compensatord");
  EXPECT_FALSE(lines[1].contains("xid")) << "the previous line's fields leaked: " << lines[1];
  EXPECT_EQ(lines[1]["msg"], "reconciler: xid=ORD-2 looks like a component") << "nothing is parsed out of text";
}

TEST(JsonLines, LinesFromManyThreadsEachCarryTheirOwnFields) {
  LogCapture capture("json");
  constexpr int kThreads = 4;
  constexpr int kLines = 500;
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([t] {
        const auto xid = "T-" + std::to_string(t);
        for (int i = 0; i < kLines; ++i) kReconciler.info({{"xid", xid}}, "{}", xid);
      });
    }
  }
  const auto lines = capture.json_lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLines));
  for (const auto& line : lines) ASSERT_EQ(line["xid"], line["msg"]) << line;
}

TEST(TextLines, ComponentMessageThenFields) {
  LogCapture capture("text");
  kReconciler.warn({{"xid", "ORD-7"}, {"source", "legacy:old log"}, {"attempt", 3}}, "PARKED: {}", "stock said no");
  const auto text = capture.text();
  EXPECT_NE(text.find("] [warning] reconciler: PARKED: stock said no xid=ORD-7 source=\"legacy:old log\" attempt=3\n"),
            std::string::npos)
      << text;
}

TEST(TextLines, AValueThatCouldForgeAFieldOrALineIsQuotedAndEscaped) {
  LogCapture capture("text");
  kReconciler.warn({{"xid", "A\nB=1 \"c\""}, {"empty", ""}}, "parked");
  const auto text = capture.text();
  EXPECT_NE(text.find(R"(parked xid="A\nB=1 \"c\"" empty="")"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
}

TEST(Levels, ALineBelowTheLevelIsNeitherFormattedNorWritten) {
  LogCapture capture("json");
  spdlog::set_level(spdlog::level::info);
  int formatted = 0;
  kReconciler.debug({{"xid", "ORD-1"}}, "requeued: {}", Counted{&formatted});
  EXPECT_EQ(formatted, 0);
  EXPECT_FALSE(kReconciler.enabled(Level::debug));
  kReconciler.info("{}", Counted{&formatted});
  EXPECT_EQ(formatted, 1);
  const auto lines = capture.json_lines();
  ASSERT_EQ(lines.size(), 1U) << capture.text();
  EXPECT_EQ(lines[0]["level"], "info");
}

}  // namespace
}  // namespace compensatord::log
