#include "store/database_config.hpp"

#include "yaml/fields.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

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
  if (database.lock_timeout > database.statement_timeout) {
    yaml::Reader at =
        section.child("lock_timeout").present() ? section.child("lock_timeout") : section.child("statement_timeout");
    at.error(fmt::format("lock_timeout ({}) must not be larger than statement_timeout ({})", database.lock_timeout,
                         database.statement_timeout));
  }
  return database;
}

}  // namespace compensatord::store
