// main() for test programs that use cpprestsdk's client over TLS. cpprestsdk joins its shared
// thread pool from a static destructor and OpenSSL 3 frees its global state from an atexit
// handler; when OpenSSL's runs first, a pool thread still freeing a TLS context spins forever in
// CRYPTO_THREAD_write_lock while main waits to join it (seen in adapters_http_tests: every test
// passed, then the process hung until ctest's timeout). The tests are over by then, so this main
// leaves without running either, after the leak check a sanitizer build would have done at exit.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
#if defined(__SANITIZE_ADDRESS__)
  __lsan_do_leak_check();
#endif
  std::fflush(nullptr);
  std::_Exit(result);
}
