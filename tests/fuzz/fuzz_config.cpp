// The config loader: any YAML text is either a valid config or a list of errors, each naming the
// key it is about. Never an exception, never a crash. Environment references are expanded from
// the fuzzer's own environment, so the input alone decides the outcome.
#include "config/config.hpp"
#include "fuzz_support.hpp"

using namespace compensatord;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto loaded = config::load_config_text(std::string(fuzz::as_text(data, size)));
  FUZZ_REQUIRE(loaded.config.has_value() == loaded.errors.empty());
  for (const auto& error : loaded.errors.all()) {
    FUZZ_REQUIRE(!error.message.empty());
    FUZZ_REQUIRE(error.line >= 0);
  }
  return 0;
}
