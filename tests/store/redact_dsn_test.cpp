#include "store/connection_pool.hpp"
#include "store/store_error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::store {
namespace {

TEST(RedactDsn, HidesTheUrlPassword) {
  EXPECT_EQ(redact_dsn("postgresql://svc:top%40secret@db.internal:5432/state?sslmode=require"),
            "postgresql://svc:***@db.internal:5432/state?sslmode=require");
}

TEST(RedactDsn, HidesAPasswordQueryParameter) {
  EXPECT_EQ(redact_dsn("postgresql://svc@db/state?password=hunter2&sslmode=require"),
            "postgresql://svc@db/state?password=***&sslmode=require");
}

TEST(RedactDsn, HidesKeyValuePasswordsQuotedOrNot) {
  EXPECT_EQ(redact_dsn("host=db password=hunter2 dbname=state"), "host=db password=*** dbname=state");
  EXPECT_EQ(redact_dsn("host=db password = 'with \\' quote and space' dbname=state"),
            "host=db password = *** dbname=state");
  EXPECT_EQ(redact_dsn("host=db PASSWORD=hunter2"), "host=db PASSWORD=***");
}

TEST(RedactDsn, LeavesADsnWithoutPasswordAlone) {
  EXPECT_EQ(redact_dsn("postgresql://postgres@127.0.0.1:5432/postgres"),
            "postgresql://postgres@127.0.0.1:5432/postgres");
  EXPECT_EQ(redact_dsn(""), "");
}

TEST(ConnectionPool, RejectsAnEmptyPool) {
  EXPECT_THROW(ConnectionPool("postgresql://x@127.0.0.1:1/x", 0, std::chrono::seconds(1)), StoreError);
}

TEST(ConnectionPool, ConnectFailureNamesTheOperationAndHidesThePassword) {
  ConnectionPool pool("postgresql://svc:hunter2@127.0.0.1:1/state", 1, std::chrono::seconds(1));
  try {
    pool.acquire("claim_due");
    FAIL() << "acquire should fail";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("claim_due"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
  try {
    pool.acquire("again");
    FAIL() << "acquire should fail";
  } catch (const StoreError& e) {  // the slot of the failed connect went back to the pool
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace compensatord::store
