#include "http/tls_certificate.hpp"

#include "log/log.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <vector>

namespace compensatord::http {
namespace {
constexpr log::Log kLog{"http"};

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct ChainFree {
  void operator()(STACK_OF(X509) * chain) const { sk_X509_pop_free(chain, X509_free); }
};
using UniqueX509 = std::unique_ptr<X509, X509Free>;

// OpenSSL's reason for the last failure on this thread, then its error queue emptied.
std::string openssl_error() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no PEM data";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

std::unique_ptr<std::FILE, FileCloser> open_file(const std::string& key, const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    throw std::runtime_error(fmt::format("http.tls.{} {}: {}", key, path, std::generic_category().message(errno)));
  }
  return file;
}

}  // namespace

namespace detail {

struct TlsPair {
  UniqueX509 certificate;
  std::unique_ptr<STACK_OF(X509), ChainFree> chain;  // the intermediates after it
  std::unique_ptr<EVP_PKEY, KeyFree> key;
};

}  // namespace detail

TlsCertificate::FilesVersion TlsCertificate::version_of(const ApiTls& files) {
  std::error_code error;
  FilesVersion version;
  // A file that cannot be stat'ed now gets a version of its own, so it is read (and refused) once.
  version.cert_time = std::filesystem::last_write_time(files.cert_file, error);
  version.cert_size = std::filesystem::file_size(files.cert_file, error);
  version.key_time = std::filesystem::last_write_time(files.key_file, error);
  version.key_size = std::filesystem::file_size(files.key_file, error);
  return version;
}

namespace {

std::shared_ptr<const detail::TlsPair> read_pair(const ApiTls& files) {
  auto pair = std::make_shared<detail::TlsPair>();
  {
    auto file = open_file("cert_file", files.cert_file);
    pair->certificate.reset(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
    if (!pair->certificate) {
      throw std::runtime_error(
          fmt::format("http.tls.cert_file {}: not a PEM certificate ({})", files.cert_file, openssl_error()));
    }
    pair->chain.reset(sk_X509_new_null());
    while (X509* intermediate = PEM_read_X509(file.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(pair->chain.get(), intermediate);
    }
    ERR_clear_error();  // the end of the file ends the chain
  }
  {
    auto file = open_file("key_file", files.key_file);
    // No passphrase callback: an encrypted key is refused, never prompted for.
    pair->key.reset(PEM_read_PrivateKey(
        file.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
    if (!pair->key) {
      throw std::runtime_error(fmt::format("http.tls.key_file {}: not an unencrypted PEM private key ({})",
                                           files.key_file, openssl_error()));
    }
  }
  if (X509_check_private_key(pair->certificate.get(), pair->key.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error(
        fmt::format("http.tls.key_file {} is not the key of http.tls.cert_file {}", files.key_file, files.cert_file));
  }
  return pair;
}

}  // namespace

TlsCertificate::TlsCertificate(ApiTls files) : files_(std::move(files)), read_version_(version_of(files_)) {
  pair_ = read_pair(files_);
}

TlsCertificate::~TlsCertificate() = default;

bool TlsCertificate::reload_if_changed() {
  const auto version = version_of(files_);
  {
    std::lock_guard lock(mutex_);
    if (version == read_version_) return false;
    read_version_ = version;
  }
  try {
    auto pair = read_pair(files_);
    std::lock_guard lock(mutex_);
    pair_ = std::move(pair);
    last_failure_.reset();
  } catch (const std::exception& e) {
    kLog.error("the changed TLS files were not used, the previous certificate is served: {}", e.what());
    std::lock_guard lock(mutex_);
    last_failure_ = e.what();
    return false;
  }
  kLog.info("TLS certificate read again from {}", files_.cert_file);
  return true;
}

std::optional<std::string> TlsCertificate::last_failure() const {
  std::lock_guard lock(mutex_);
  return last_failure_;
}

std::shared_ptr<const detail::TlsPair> TlsCertificate::current() const {
  std::lock_guard lock(mutex_);
  return pair_;
}

void TlsCertificate::serve_on(ssl_ctx_st* context) {
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_cert_cb(context, &TlsCertificate::on_handshake, this);
}

// On the handshake's thread: the pair in use now goes on this connection only. The connection
// takes its own references, so a reload during the handshake frees nothing it uses.
int TlsCertificate::on_handshake(ssl_st* ssl, void* self) {
  const auto pair = static_cast<TlsCertificate*>(self)->current();
  if (SSL_use_certificate(ssl, pair->certificate.get()) != 1 || SSL_use_PrivateKey(ssl, pair->key.get()) != 1 ||
      SSL_set1_chain(ssl, pair->chain.get()) != 1) {
    return 0;
  }
  return 1;
}

}  // namespace compensatord::http
