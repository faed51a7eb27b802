#pragma once
// What both transports share; private to adapters/ (not part of the http_transport.hpp seam).

#include "adapters/http_transport.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace compensatord::adapters::detail {

// Why `request` must not be sent, or nullopt. Defence in depth: templates already refuse control
// characters, but a CR/LF in a header would split the request on the wire.
std::optional<std::string> header_problem(const HttpRequest& request);

// The error text of a request that ran past its timeout; the same for every transport.
std::string timed_out(std::chrono::milliseconds timeout);

// An answer carrying only a transport error.
HttpResponse failed(std::string error);

}  // namespace compensatord::adapters::detail
