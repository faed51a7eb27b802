// redact_secrets: whatever a DSN, a URL or a driver's message about them looks like, the password
// never comes out, and text without one comes out unchanged.

#include "model/redact.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord {
namespace {

TEST(RedactSecrets, HidesTheUrlPassword) {
  EXPECT_EQ(redact_secrets("postgresql://svc:top%40secret@db.internal:5432/state?sslmode=require"),
            "postgresql://svc:***@db.internal:5432/state?sslmode=require");
  EXPECT_EQ(redact_secrets("https://ops:Pa55word@stock.legacy:8443"), "https://ops:***@stock.legacy:8443");
  EXPECT_EQ(redact_secrets("http://ops:@stock"), "http://ops:***@stock");
}

TEST(RedactSecrets, HidesUrlPasswordsAnywhereInAMessage) {
  EXPECT_EQ(redact_secrets("POST http://ops:Pa55word@stock:8080/api/stock/rollback/ORD-1"),
            "POST http://ops:***@stock:8080/api/stock/rollback/ORD-1");
  EXPECT_EQ(redact_secrets("invalid URI: \"postgresql://svc:Pa55word@[::1\" and 'https://a:b@c/d'"),
            "invalid URI: \"postgresql://svc:***@[::1\" and 'https://a:***@c/d'");
  // An unencoded '@' in the password: the host starts after the last '@' of the authority.
  EXPECT_EQ(redact_secrets("http://ops:p@ss@stock/x"), "http://ops:***@stock/x");
}

TEST(RedactSecrets, HidesAPasswordQueryParameter) {
  EXPECT_EQ(redact_secrets("postgresql://svc@db/state?password=hunter2&sslmode=require"),
            "postgresql://svc@db/state?password=***&sslmode=require");
}

TEST(RedactSecrets, HidesKeyValuePasswordsQuotedOrNot) {
  EXPECT_EQ(redact_secrets("host=db password=hunter2 dbname=state"), "host=db password=*** dbname=state");
  EXPECT_EQ(redact_secrets("host=db password = 'with \\' quote and space' dbname=state"),
            "host=db password = *** dbname=state");
  EXPECT_EQ(redact_secrets("host=db PASSWORD=hunter2"), "host=db PASSWORD=***");
  EXPECT_EQ(redact_secrets("host=db sslpassword=hunter2"), "host=db sslpassword=***");
  // Malformed: the quote never ends, so everything after it may be the password.
  EXPECT_EQ(redact_secrets("host=db password='hunter2 dbname=state"), "host=db password=***");
}

TEST(RedactSecrets, LeavesTextWithoutPasswordAlone) {
  for (const std::string text :
       {"", "postgresql://postgres@127.0.0.1:5432/postgres", "http://stock.legacy:8080/api/x?y=1",
        "mail ops@example.com: see http://a/b@c", "user:pass@host without a scheme", "password", "a://",
        "host=db dbname=state user=svc"}) {
    EXPECT_EQ(redact_secrets(text), text);
  }
}

TEST(RedactSecrets, HidesTheConnectionsPasswordWhereverTheMessageQuotesIt) {
  EXPECT_EQ(
      redact_secrets("missing \"=\" after \"hunter2\" in connection info string", "host=db password=hunter2 oops"),
      "missing \"=\" after \"***\" in connection info string");
  EXPECT_EQ(redact_secrets("bad: top@secret", "postgresql://svc:top%40secret@db/state"), "bad: ***");
  EXPECT_EQ(redact_secrets("bad: top%40secret", "postgresql://svc:top%40secret@db/state"), "bad: ***");
  EXPECT_EQ(redact_secrets("near p&q", "postgresql://svc@db/state?password=p%26q"), "near ***");
  EXPECT_EQ(redact_secrets("near 'it''s' it's", "password='it\\'s'"), "near 'it''s' ***");
  EXPECT_EQ(redact_secrets("no password here", "postgresql://svc@db/state"), "no password here");
}

TEST(RedactSecrets, HugeAndHostileInputIsHandled) {
  const std::string secret(1 << 20, 's');
  EXPECT_EQ(redact_secrets("password=" + secret + " x"), "password=*** x");
  EXPECT_EQ(redact_secrets("http://u:" + secret + "@host"), "http://u:***@host");
  EXPECT_EQ(redact_secrets("x " + secret + " y", "password=" + secret), "x *** y");
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "a://b:c@";
  EXPECT_EQ(redact_secrets(many).find("c@"), std::string::npos);
  const std::string colons(100000, ':');
  EXPECT_EQ(redact_secrets("x://" + colons), "x://" + colons);
}

}  // namespace
}  // namespace compensatord
