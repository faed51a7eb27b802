#pragma once
// Shared by the fuzz targets: the libFuzzer entry point, and a check that stops the run with a
// message (a finding) when an invariant of the code under test does not hold.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace compensatord::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `input` at the first `separator`: what comes before it, and `input` becomes the rest.
inline std::string_view take_until(std::string_view& input, char separator) {
  const auto at = input.find(separator);
  const auto head = input.substr(0, at);
  input = at == std::string_view::npos ? std::string_view() : input.substr(at + 1);
  return head;
}

[[noreturn]] inline void violated(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz: invariant violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

}  // namespace compensatord::fuzz

#define FUZZ_REQUIRE(condition) \
  ((condition) ? static_cast<void>(0) : ::compensatord::fuzz::violated(#condition, __FILE__, __LINE__))
