#include "check/check.hpp"
#include "check/http_check.hpp"
#include "check/sql_check.hpp"

namespace compensatord::check {

std::unique_ptr<Check> make_check(std::shared_ptr<const CheckSpec> spec,
                                  std::shared_ptr<adapters::HttpTransport> transport) {
  if (const auto* sql = std::get_if<SqlCheckSpec>(&spec->how)) return std::make_unique<SqlCheck>(*sql);
  return std::make_unique<HttpCheck>(std::get<HttpCheckSpec>(spec->how), std::move(transport));
}

}  // namespace compensatord::check
