#include "store/admin_store.hpp"

#include "model/names.hpp"

namespace compensatord::store {
namespace {

constexpr names::Table<AdminVerb, 3> kVerbNames{
    {{AdminVerb::Retry, "retry"}, {AdminVerb::Decide, "decide"}, {AdminVerb::Abandon, "abandon"}}};

}  // namespace

std::string_view to_string(AdminVerb v) { return names::name_of(kVerbNames, v); }
std::optional<AdminVerb> parse_admin_verb(std::string_view s) { return names::value_of(kVerbNames, s); }

}  // namespace compensatord::store
