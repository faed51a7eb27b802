#pragma once
// A TCP port on 127.0.0.1 that takes connections and never says a word: the kernel completes the
// handshake (the listening socket's backlog) but nothing ever accepts or answers. A client without
// a connect timeout waits on it forever, like on a database host that went silent.

namespace compensatord::testing {

class SilentServer {
 public:
  SilentServer();  // throws std::system_error when no socket can be bound
  ~SilentServer();
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  // Closes the socket: clients still waiting see their connection reset. A test whose client
  // failed to give up calls this so that the client returns and the test can end.
  void close();

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace compensatord::testing
