#pragma once
// libpq connection strings: the settings compensatord adds to a DSN it was given.

#include <chrono>
#include <string>

namespace compensatord::store {

// Bounds on a connection's waits, so that no caller waits unboundedly on an unreachable server or
// on a row lock another session (the order service) holds. A zero statement or lock timeout is
// none, as in PostgreSQL. The defaults are those of docs/configuration.md (`database.*`).
struct ConnectionLimits {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};  // libpq's, in whole seconds
  std::chrono::milliseconds statement_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(5)};
};

// `dsn` with libpq's connect_timeout set to `timeout`, rounded up to whole seconds (libpq's unit;
// libpq waits at least 2 s). It bounds the whole connection attempt to each host: TCP, TLS and
// authentication. A connect_timeout the DSN sets itself is kept. A DSN libpq cannot parse is
// returned as it is, so that connecting to it reports libpq's error.
std::string with_connect_timeout(const std::string& dsn, std::chrono::milliseconds timeout);

}  // namespace compensatord::store
