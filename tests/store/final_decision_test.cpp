// One decision, enforced by the database (0007_final_decision.sql): a decided row's decision never
// changes, whoever writes it; the order service needs EXECUTE on its two functions and nothing else.
#include "store_fixture.hpp"

#include <fmt/format.h>

#include <random>

namespace compensatord::store::testing {
namespace {

class FinalDecisionTest : public StoreTest {
 protected:
  // The SQLSTATE and message of `sql` run on `connection`, which must fail.
  static std::pair<std::string, std::string> failure_of(pqxx::connection& connection, const std::string& sql) {
    try {
      pqxx::work work(connection);
      work.exec(sql);
      work.commit();
    } catch (const pqxx::sql_error& e) {
      return {e.sqlstate(), e.what()};
    }
    ADD_FAILURE() << "expected an error from " << sql;
    return {};
  }

  std::pair<std::string, std::string> failure_of(const std::string& sql) { return failure_of(connection_, sql); }

  // Whether `sql` on `connection` fails for want of a privilege (SQLSTATE 42501; libpqxx 6.4 throws
  // its own class for it and leaves sqlstate() empty).
  static bool permission_denied(pqxx::connection& connection, const std::string& sql) {
    try {
      pqxx::work work(connection);
      work.exec(sql);
      work.commit();
    } catch (const pqxx::insufficient_privilege&) {
      return true;
    } catch (const pqxx::sql_error& e) {
      ADD_FAILURE() << sql << " failed otherwise: " << e.what();
    }
    return false;
  }

  // A transaction decided `decision` by the reconciler (CONFIRMING or CANCELLING).
  void decided(const std::string& xid, Decision decision) {
    ingest_and_claim(xid, "replica-a");
    ASSERT_TRUE(store_.decide(xid, lease_as("replica-a", xid), decision).decided_by_us);
  }

  std::string decision_of(const std::string& xid) {
    return row("SELECT coalesce(decision, 'NULL') FROM compensatord.transactions WHERE xid = $1", xid)[0]
        .as<std::string>();
  }
};

TEST_F(FinalDecisionTest, ADirectUpdateCannotTurnACancelIntoAConfirm) {
  decided("ORD-1", Decision::Cancel);
  // Allowed by transactions_status_matches_decision: the status agrees with the new decision.
  const auto [sqlstate, message] = failure_of(
      "UPDATE compensatord.transactions SET status = 'CONFIRMING', decision = 'confirm' WHERE xid = 'ORD-1'");
  EXPECT_EQ(sqlstate, "23000");  // integrity_constraint_violation
  EXPECT_NE(message.find("transaction ORD-1: the decision cancel is final and cannot become confirm"),
            std::string::npos)
      << message;
  EXPECT_EQ(decision_of("ORD-1"), "cancel");
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Cancelling);
}

TEST_F(FinalDecisionTest, NoDecisionCanBeUndoneOrSwappedWhoeverTookIt) {
  decided("ORD-cancel", Decision::Cancel);
  decided("ORD-confirm", Decision::Confirm);
  ASSERT_EQ(store_.ingest(transaction("ORD-order-service")), IngestResult::Inserted);
  exec("SELECT compensatord.commit_transaction('ORD-order-service')");
  for (const std::string xid : {"ORD-cancel", "ORD-confirm", "ORD-order-service"}) {
    const std::string before = decision_of(xid);
    for (const std::string change :
         {"status = 'PENDING', decision = NULL", "status = 'CANCELLED', decision = 'cancel'",
          "status = 'CONFIRMED', decision = 'confirm'", "status = 'PARKED', decision = NULL"}) {
      const std::string sql = fmt::format("UPDATE compensatord.transactions SET {} WHERE xid = '{}'", change, xid);
      if (change.find("'" + before + "'") != std::string::npos) continue;  // no change of decision
      EXPECT_EQ(failure_of(sql).first, "23000") << sql;
    }
    EXPECT_EQ(decision_of(xid), before) << xid;
  }
  // Every row at once, as an operator's careless statement would.
  EXPECT_EQ(failure_of("UPDATE compensatord.transactions SET decision = 'confirm', status = 'CONFIRMED'").first,
            "23000");
  EXPECT_EQ(decision_of("ORD-cancel"), "cancel");
}

TEST_F(FinalDecisionTest, EverythingButTheDecisionStillChangesAsBefore) {
  decided("ORD-1", Decision::Cancel);
  exec("UPDATE compensatord.transactions SET last_error = 'noted', decision = 'cancel' WHERE xid = 'ORD-1'");
  auto done = write_back_for("ORD-1", "replica-a", Status::Cancelling, Status::Cancelled, 1);
  EXPECT_TRUE(store_.write_back(done));
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Cancelled);
  EXPECT_EQ(store_.find("ORD-1")->last_error, "");
  // An undecided row takes its one decision, from the order service or the reconciler.
  ASSERT_EQ(store_.ingest(transaction("ORD-2")), IngestResult::Inserted);
  exec("SELECT compensatord.commit_transaction('ORD-2')");
  EXPECT_EQ(decision_of("ORD-2"), "confirm");
  decided("ORD-3", Decision::Confirm);
  EXPECT_EQ(decision_of("ORD-3"), "confirm");
}

// A role of the test's own, dropped with its privileges at the end (roles are cluster-wide).
class OrderServiceRole {
 public:
  explicit OrderServiceRole(pqxx::connection& admin)
      : admin_(admin), name_(fmt::format("order_service_{:08x}", std::random_device{}())) {
    pqxx::nontransaction(admin_).exec0(fmt::format("CREATE ROLE {} NOLOGIN", name_));
  }
  ~OrderServiceRole() {
    try {
      pqxx::nontransaction work(admin_);
      work.exec0(fmt::format("DROP OWNED BY {}", name_));
      work.exec0(fmt::format("DROP ROLE {}", name_));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not drop role " << name_ << ": " << e.what();
    }
  }
  OrderServiceRole(const OrderServiceRole&) = delete;
  OrderServiceRole& operator=(const OrderServiceRole&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  pqxx::connection& admin_;
  std::string name_;
};

// The grants of docs/integration-contract.md, "Privileges", exactly.
void grant_order_service(pqxx::connection& admin, const std::string& role) {
  pqxx::nontransaction work(admin);
  work.exec0(fmt::format("GRANT USAGE ON SCHEMA compensatord TO {}", role));
  work.exec0(
      fmt::format("GRANT EXECUTE ON FUNCTION compensatord.begin_transaction(text, text, jsonb, interval), "
                  "compensatord.commit_transaction(text) TO {}",
                  role));
}

TEST_F(FinalDecisionTest, TheOrderServiceNeedsOnlyExecuteOnItsTwoFunctions) {
  OrderServiceRole role(connection_);
  grant_order_service(connection_, role.name());
  pqxx::connection order_db(db_.dsn());
  pqxx::nontransaction(order_db).exec0(fmt::format("SET ROLE {}", role.name()));
  {
    pqxx::work work(order_db);
    EXPECT_TRUE(work.exec1("SELECT compensatord.begin_transaction('ORD-1', 'order', "
                           "'[{\"participant\": \"stock\"}]', '30 seconds')")[0]
                    .as<bool>());
    EXPECT_FALSE(work.exec1("SELECT compensatord.begin_transaction('ORD-1', 'order', "
                            "'[{\"participant\": \"stock\"}]', '30 seconds')")[0]
                     .as<bool>());
    EXPECT_TRUE(work.exec1("SELECT compensatord.commit_transaction('ORD-1')")[0].as<bool>());
    work.commit();
  }
  EXPECT_EQ(store_.find("ORD-1")->status, Status::Committed);
  EXPECT_EQ(store_.find("ORD-1")->decided_by, "order-service");
  // The conflict check reads the tables as the functions' owner.
  EXPECT_EQ(failure_of(order_db,
                       "SELECT compensatord.begin_transaction('ORD-1', 'order', "
                       "'[{\"participant\": \"points\"}]', '1 second')")
                .first,
            "CX001");
  // The tables themselves stay out of its reach: no UPDATE to change a decision with, and no INSERT.
  for (const std::string sql :
       {"UPDATE compensatord.transactions SET decision = 'cancel', status = 'CANCELLING' WHERE xid = 'ORD-1'",
        "INSERT INTO compensatord.transactions (xid, due_at, next_attempt_at) VALUES ('X', now(), now())",
        "DELETE FROM compensatord.branches", "SELECT compensatord.conflicting_source('ORD-1', '[]')"}) {
    EXPECT_TRUE(permission_denied(order_db, sql)) << sql;
  }
  EXPECT_EQ(store_.find("ORD-1")->decision, Decision::Confirm);
}

// Even with the table privileges the old contract asked for: EXECUTE is no longer PUBLIC's.
TEST_F(FinalDecisionTest, ARoleWithoutTheGrantCannotCallTheFunctions) {
  OrderServiceRole role(connection_);
  {
    pqxx::nontransaction work(connection_);
    work.exec0(fmt::format("GRANT USAGE ON SCHEMA compensatord TO {}", role.name()));
    work.exec0(
        fmt::format("GRANT SELECT, INSERT ON compensatord.transactions, compensatord.branches TO {0}; "
                    "GRANT UPDATE ON compensatord.transactions TO {0}",
                    role.name()));
  }
  pqxx::connection other(db_.dsn());
  pqxx::nontransaction(other).exec0(fmt::format("SET ROLE {}", role.name()));
  for (const std::string call : {"SELECT compensatord.begin_transaction('ORD-1', 'order', '[]', '1 second')",
                                 "SELECT compensatord.commit_transaction('ORD-1')"}) {
    std::string message;
    try {
      pqxx::work work(other);
      work.exec(call);
      work.commit();
    } catch (const pqxx::insufficient_privilege& e) {
      message = e.what();
    }
    EXPECT_NE(message.find("permission denied for function"), std::string::npos) << call << ": " << message;
  }
  EXPECT_FALSE(store_.find("ORD-1").has_value());
}

TEST_F(FinalDecisionTest, TheFunctionsRunAsTheirOwnerWithAFixedSearchPath) {
  pqxx::work work(connection_);
  const auto functions = work.exec(
      "SELECT p.proname, p.prosecdef, array_to_string(p.proconfig, ',') FROM pg_proc AS p "
      "JOIN pg_namespace AS n ON n.oid = p.pronamespace "
      "WHERE n.nspname = 'compensatord' AND p.proname IN ('begin_transaction', 'commit_transaction') ORDER BY 1");
  ASSERT_EQ(functions.size(), 2u);
  for (const auto& function : functions) {
    EXPECT_TRUE(function[1].as<bool>()) << function[0].c_str();
    EXPECT_EQ(function[2].as<std::string>(), "search_path=pg_catalog, pg_temp") << function[0].c_str();
  }
}

}  // namespace
}  // namespace compensatord::store::testing
