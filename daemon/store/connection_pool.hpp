#pragma once
// A small, thread-safe pool of PostgreSQL connections for the store's workers. Connections are
// opened on first use and reopened on the next use after one broke (e.g. the server restarted).

#include "store/conninfo.hpp"

#include <pqxx/connection>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace compensatord::store {

// Opens a connection under `limits`; throws StoreError naming `operation` and the redacted DSN on
// failure.
std::unique_ptr<pqxx::connection> connect(const std::string& dsn, std::string_view operation,
                                          const ConnectionLimits& limits);

class ConnectionPool {
 public:
  // A borrowed connection, given back to the pool when it goes out of scope.
  class Handle {
   public:
    Handle(ConnectionPool& pool, std::size_t slot) : pool_(&pool), slot_(slot) {}
    ~Handle();
    Handle(Handle&& other) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle& operator=(Handle&&) = delete;

    pqxx::connection& operator*() const;
    // Drops the connection: the next user of this slot opens a new one.
    void discard();

   private:
    ConnectionPool* pool_;
    std::size_t slot_;
  };

  ConnectionPool(std::string dsn, std::size_t size, std::chrono::milliseconds acquire_timeout,
                 ConnectionLimits limits = {});

  // Waits for a free connection, opening it if needed. Throws StoreError when none is free within
  // the acquire timeout or the database cannot be reached.
  Handle acquire(std::string_view operation);

  std::size_t size() const { return slots_.size(); }

 private:
  void give_back(std::size_t slot);

  std::string dsn_;
  std::chrono::milliseconds acquire_timeout_;
  ConnectionLimits limits_;
  std::vector<std::unique_ptr<pqxx::connection>> slots_;  // a slot is touched only by its borrower
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::size_t> free_slots_;  // guarded by mutex_
};

}  // namespace compensatord::store
