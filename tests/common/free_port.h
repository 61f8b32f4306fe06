// A TCP port nothing listens on now, for a test's MASTER_PORT: the kernel picks it (bind
// to port 0), so it is neither in use nor about to be handed out as another test's
// ephemeral port, as a fixed number in the ephemeral range could be when suites run in
// parallel. The port is released before the caller binds it; the window is tiny.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

inline int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("free_tcp_port: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("free_tcp_port: no port to bind on 127.0.0.1");
  return ntohs(addr.sin_port);
}
