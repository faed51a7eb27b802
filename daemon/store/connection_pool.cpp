#include "store/connection_pool.hpp"

#include "model/redact.hpp"
#include "store/conninfo.hpp"
#include "store/store_error.hpp"

#include <fmt/format.h>
#include <pqxx/nontransaction>

#include <memory>
#include <stdexcept>
#include <utility>

namespace compensatord::store {

std::unique_ptr<pqxx::connection> connect(const std::string& dsn, std::string_view operation,
                                          const ConnectionLimits& limits) {
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection = std::make_unique<pqxx::connection>(with_connect_timeout(dsn, limits.connect_timeout));
  } catch (const std::exception& e) {
    // libpq's own messages may quote pieces of a malformed DSN, password included.
    throw StoreError(fmt::format("{}: cannot connect to PostgreSQL at {}: {}", operation, redact_secrets(dsn),
                                 redact_secrets(e.what(), dsn)));
  }
  try {
    // Session settings, so they hold for every statement on this connection, in one round trip.
    pqxx::nontransaction(*connection)
        .exec(fmt::format("SET statement_timeout = {}; SET lock_timeout = {}", limits.statement_timeout.count(),
                          limits.lock_timeout.count()));
  } catch (const std::exception& e) {
    throw StoreError(fmt::format("{}: cannot set the timeouts of a connection to {}: {}", operation,
                                 redact_secrets(dsn), redact_secrets(e.what(), dsn)));
  }
  return connection;
}

ConnectionPool::Handle::~Handle() {
  if (pool_ != nullptr) pool_->give_back(slot_);
}

ConnectionPool::Handle::Handle(Handle&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_) {}

pqxx::connection& ConnectionPool::Handle::operator*() const { return *pool_->slots_[slot_]; }

void ConnectionPool::Handle::discard() { pool_->slots_[slot_].reset(); }

ConnectionPool::ConnectionPool(std::string dsn, std::size_t size, std::chrono::milliseconds acquire_timeout,
                               ConnectionLimits limits)
    : dsn_(std::move(dsn)), acquire_timeout_(acquire_timeout), limits_(limits), slots_(size) {
  if (size == 0) throw StoreError("the PostgreSQL connection pool size must be at least 1");
  for (std::size_t slot = size; slot > 0; --slot) free_slots_.push_back(slot - 1);
}

ConnectionPool::Handle ConnectionPool::acquire(std::string_view operation) {
  std::size_t slot = 0;
  {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, acquire_timeout_, [this] { return !free_slots_.empty(); })) {
      throw StoreError(fmt::format("{}: no free PostgreSQL connection within {} ms (pool size {})", operation,
                                   acquire_timeout_.count(), slots_.size()));
    }
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Handle handle(*this, slot);
  auto& connection = slots_[slot];
  if (connection && !connection->is_open()) connection.reset();
  if (!connection) connection = connect(dsn_, operation, limits_);
  return handle;
}

void ConnectionPool::give_back(std::size_t slot) {
  {
    std::lock_guard lock(mutex_);
    free_slots_.push_back(slot);
  }
  freed_.notify_one();
}

}  // namespace compensatord::store
