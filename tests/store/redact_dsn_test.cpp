#include "store/connection_pool.hpp"
#include "store/store_error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace compensatord::store {
namespace {

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
