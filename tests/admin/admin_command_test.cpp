// `compensatord admin`'s pure parts: exit codes per error class, the encoding of xids in paths, and
// tables that stay readable and harmless whatever the API's text holds.
#include "admin/admin_command.hpp"

#include <gtest/gtest.h>

namespace compensatord::admin {
namespace {

ApiAnswer answer(int status) { return ApiAnswer{.status = status}; }

TEST(AdminCommand, EachKindOfFailureHasItsExitCode) {
  EXPECT_EQ(exit_code_for(answer(200)), kExitOk);
  EXPECT_EQ(exit_code_for(answer(0)), kExitUnavailable) << "no answer";
  EXPECT_EQ(exit_code_for(answer(500)), kExitUnavailable);
  EXPECT_EQ(exit_code_for(answer(503)), kExitUnavailable);
  EXPECT_EQ(exit_code_for(answer(400)), kExitUsage);
  EXPECT_EQ(exit_code_for(answer(401)), kExitDenied);
  EXPECT_EQ(exit_code_for(answer(403)), kExitDenied);
  EXPECT_EQ(exit_code_for(answer(404)), kExitNotFound);
  EXPECT_EQ(exit_code_for(answer(409)), kExitConflict);
}

TEST(AdminCommand, XidsArePercentEncodedWhole) {
  EXPECT_EQ(percent_encoded("ORD-1.a_b~"), "ORD-1.a_b~");
  EXPECT_EQ(percent_encoded("ORD/1 a+b?c#d%"), "ORD%2F1%20a%2Bb%3Fc%23d%25");
  EXPECT_EQ(percent_encoded("\xC3\xA9"), "%C3%A9");
}

TEST(AdminCommand, AListIsATableWithTheWayToTheNextPage) {
  const auto page = nlohmann::json::parse(R"({"transactions": [
      {"xid": "ORD-1", "status": "PARKED", "decision": "cancel", "kind": "order", "attempt_count": 3,
       "created_at": "2026-12-02T08:00:00Z", "parked_reason": "stock cancel rejected: HTTP 403", "last_error": "x"},
      {"xid": "ORD-22", "status": "PENDING", "decision": null, "kind": "order", "attempt_count": 0,
       "created_at": "2026-12-02T08:00:01Z", "parked_reason": "", "last_error": "order db unreachable"}],
      "next_after": "ORD-22"})");
  const auto text = render_list(page);
  EXPECT_NE(text.find("XID     STATUS   DECISION"), std::string::npos) << text;
  EXPECT_NE(text.find("ORD-1   PARKED   cancel"), std::string::npos) << text;
  EXPECT_NE(text.find("stock cancel rejected: HTTP 403"), std::string::npos) << text;
  EXPECT_NE(text.find("ORD-22  PENDING  -"), std::string::npos) << text;
  EXPECT_NE(text.find("order db unreachable"), std::string::npos) << "the last error when nothing parked it";
  EXPECT_NE(text.find("--after 'ORD-22'"), std::string::npos) << text;
  EXPECT_NE(render_list(nlohmann::json::parse(R"({"transactions": [], "next_after": null})")).find("(0 transactions)"),
            std::string::npos);
}

TEST(AdminCommand, HostileTextNeitherDrivesTheTerminalNorWidensTheTable) {
  const nlohmann::json page = {
      {"transactions",
       {{{"xid", "ORD-\x1b[2J\x1b]0;pwned\x07"}, {"status", "PARKED"}, {"parked_reason", std::string(5000, 'r')}}}},
      {"next_after", nullptr}};
  const auto text = render_list(page);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_LT(text.size(), 400u) << "long values are cut";
  EXPECT_NO_THROW(render_list(nlohmann::json::parse("[1, 2]")));
  EXPECT_NO_THROW(render_transaction(nlohmann::json::parse(R"({"branches": 7, "attempts": [{"id": "x"}]})")));
  EXPECT_NO_THROW(render_action(nlohmann::json(nullptr)));
  EXPECT_NO_THROW(render_retry_matching(nlohmann::json::parse(R"({"transactions": {"xid": 1}, "dry_run": 3})")));
}

TEST(AdminCommand, ABulkRetrySaysWhatWouldBeOrWasRetriedAndWhetherMoreMatch) {
  const auto dry = render_retry_matching(nlohmann::json::parse(R"({"dry_run": true, "retried": 0,
      "transactions": [{"xid": "ORD-1", "status": "PARKED"}, {"xid": "ORD-2", "status": "PARKED"}],
      "next_after": "ORD-2"})"));
  EXPECT_NE(dry.find("ORD-1  PARKED  would retry"), std::string::npos) << dry;
  EXPECT_NE(dry.find("dry run: 2 transactions would be retried; add --apply"), std::string::npos) << dry;
  EXPECT_NE(dry.find("--after 'ORD-2'"), std::string::npos) << dry;
  const auto applied = render_retry_matching(nlohmann::json::parse(R"({"dry_run": false, "retried": 1,
      "transactions": [{"xid": "ORD-1", "status": "CANCELLING", "outcome": "retried"},
                       {"xid": "ORD-2", "status": "PARKED", "outcome": "in_flight"}], "next_after": null})"));
  EXPECT_NE(applied.find("ORD-2  PARKED      in_flight"), std::string::npos) << applied;
  EXPECT_NE(applied.find("1 of 2 transactions retried"), std::string::npos) << applied;
  EXPECT_EQ(applied.find("more match"), std::string::npos) << applied;
}

TEST(AdminCommand, ATransactionShowsBranchesAttemptsAndAdminActions) {
  const auto txn = nlohmann::json::parse(R"({"xid": "ORD-1", "status": "CANCELLED", "decision": "cancel",
      "branches": [{"no": 0, "participant": "stock", "status": "done", "last_outcome": "done", "attempt_count": 2,
                    "last_http_status": 200, "last_error": ""}],
      "attempts": [{"id": 41, "started_at": "2026-12-02T08:00:00.123Z", "action": "cancel", "branch": 0,
                    "outcome": "fatal", "http_status": 403, "replica": "r1", "error": "forbidden"}],
      "attempts_next_after": 41,
      "admin_actions": [{"at": "2026-12-02T08:05:00.000Z", "action": "retry", "actor": "ops",
                         "before": {"status": "PARKED"}, "after": {"status": "CANCELLING"}, "reason": "INC-7"}]})");
  const auto text = render_transaction(txn);
  for (const char* expected : {"status:          CANCELLED", "stock", "fatal", "403", "--attempts-after 41", "retry",
                               "PARKED", "CANCELLING", "INC-7"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  EXPECT_EQ(render_action(nlohmann::json::parse(R"({"xid": "ORD-1", "outcome": "retried", "status": "CANCELLING"})")),
            "ORD-1: retried, now CANCELLING\n");
}

}  // namespace
}  // namespace compensatord::admin
