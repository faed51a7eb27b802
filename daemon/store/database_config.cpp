#include "store/database_config.hpp"

#include "yaml/fields.hpp"

namespace compensatord::store {

DatabaseConfig parse_database(const yaml::Reader& section) {
  DatabaseConfig database;
  if (!yaml::is_section(section)) return database;
  section.reject_unknown_keys({"dsn", "connect_timeout", "statement_timeout", "lock_timeout"});
  if (auto dsn = section.string("dsn", true)) {
    if (dsn->empty()) section.child("dsn").error("must not be empty");
    database.dsn = *dsn;
  }
  yaml::read_duration(section, "connect_timeout", database.connect_timeout);
  yaml::read_session_timeout(section, "statement_timeout", database.statement_timeout);
  yaml::read_session_timeout(section, "lock_timeout", database.lock_timeout);
  // A lock wait longer than the statement would be cut by statement_timeout anyway.
  yaml::require_not_larger(section, "lock_timeout", database.lock_timeout, "statement_timeout",
                           database.statement_timeout);
  return database;
}

}  // namespace compensatord::store
