#pragma once
// The one exception the PostgreSQL store throws: a database or connection failure, or input the
// store refuses, with a message naming the operation and the offending key (never a password).

#include <stdexcept>

namespace compensatord::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace compensatord::store
