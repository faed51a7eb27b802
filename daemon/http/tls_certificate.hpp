#pragma once
// The API listener's certificate and key, read from their files, and read again when the files
// change: a renewed certificate (cert-manager rotates them in a mounted Secret) is served from the
// next handshake on, without a restart. OpenSSL stays in the .cpp.

#include "http/api_tls.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace compensatord::http {
namespace detail {
struct TlsPair;
}  // namespace detail

class TlsCertificate {
 public:
  // Reads both files; throws std::runtime_error naming the file and what is wrong with it (missing,
  // not PEM, a key that does not belong to the certificate).
  explicit TlsCertificate(ApiTls files);
  ~TlsCertificate();
  TlsCertificate(const TlsCertificate&) = delete;
  TlsCertificate& operator=(const TlsCertificate&) = delete;

  // Reads the files again if either changed since the pair in use was read. A pair that cannot be
  // read is not used: the previous one stays in service and the reason is kept for last_failure().
  // Returns true when a new pair is in use.
  bool reload_if_changed();

  // Why the last reload was refused; nothing once a pair was read since.
  std::optional<std::string> last_failure() const;

  // Makes every TLS handshake on `context` (an SSL_CTX) present the pair in use at that moment.
  // This object must outlive the context.
  void serve_on(ssl_ctx_st* context);

  const ApiTls& files() const { return files_; }

 private:
  static int on_handshake(ssl_st* ssl, void* self);
  std::shared_ptr<const detail::TlsPair> current() const;

  ApiTls files_;
  mutable std::mutex mutex_;
  std::shared_ptr<const detail::TlsPair> pair_;
  // What the files were when last read, used or refused: a change of either's time or size means
  // "read again".
  struct FilesVersion {
    std::filesystem::file_time_type cert_time, key_time;
    std::uintmax_t cert_size = 0, key_size = 0;

    bool operator==(const FilesVersion&) const = default;
  };
  static FilesVersion version_of(const ApiTls& files);

  FilesVersion read_version_;
  std::optional<std::string> last_failure_;
};

}  // namespace compensatord::http
