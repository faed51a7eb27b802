#include "model/attempt.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord {
namespace {

TEST(AttemptAction, CarriesOutEachDecisionAndReadsBackAsItIsWritten) {
  EXPECT_EQ(action_of(Decision::Confirm), AttemptAction::Confirm);
  EXPECT_EQ(action_of(Decision::Cancel), AttemptAction::Cancel);
  for (const auto action : {AttemptAction::Check, AttemptAction::Confirm, AttemptAction::Cancel})
    EXPECT_EQ(parse_attempt_action(to_string(action)), action);
  EXPECT_EQ(to_string(AttemptAction::Check), "check");
  for (const char* bad : {"", "CHECK", "retry", "cancel ", "check\n"}) EXPECT_FALSE(parse_attempt_action(bad)) << bad;
}

TEST(AttemptOutcome, ACheckEndsWithAVerdictAndACallWithAnOutcomeOrItsProgress) {
  EXPECT_TRUE(fits(AttemptAction::Check, CheckVerdict::Absent));
  EXPECT_FALSE(fits(AttemptAction::Check, Outcome::Done));
  EXPECT_FALSE(fits(AttemptAction::Check, kCallStarted));
  EXPECT_TRUE(fits(AttemptAction::Cancel, Outcome::NotFound));
  EXPECT_TRUE(fits(AttemptAction::Confirm, CallProgress::Skipped));
  EXPECT_FALSE(fits(AttemptAction::Confirm, CheckVerdict::Committed));
}

TEST(AttemptOutcome, EveryOutcomeReadsBackForTheActionItFits) {
  const AttemptOutcome all[] = {CheckVerdict::Committed, CheckVerdict::Absent, CheckVerdict::Unknown, Outcome::Done,
                                Outcome::AlreadyDone,    Outcome::NotFound,    Outcome::Retry,        Outcome::Fatal,
                                CallProgress::Started,   CallProgress::Skipped};
  for (const auto action : {AttemptAction::Check, AttemptAction::Confirm, AttemptAction::Cancel}) {
    for (const auto& outcome : all) {
      const auto read = parse_attempt_outcome(action, to_string(outcome));
      if (fits(action, outcome)) {
        EXPECT_EQ(read, outcome) << to_string(action) << " " << to_string(outcome);
      } else {
        EXPECT_FALSE(read) << to_string(action) << " " << to_string(outcome);
      }
    }
  }
  EXPECT_EQ(to_string(kCallStarted), "started");
  EXPECT_EQ(to_string(AttemptOutcome{Outcome::AlreadyDone}), "already_done");
}

TEST(AttemptOutcome, AnythingElseIsNoOutcome) {
  const std::string bad_outcomes[] = {
      "", "?", "Done", "error", "started ", std::string("done\0", 5), std::string(1 << 20, 'x')};
  for (const auto& bad : bad_outcomes)
    EXPECT_FALSE(parse_attempt_outcome(AttemptAction::Cancel, bad)) << bad.substr(0, 16);
}

}  // namespace
}  // namespace compensatord
