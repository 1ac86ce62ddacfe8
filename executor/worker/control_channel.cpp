#include "executor/worker/control_channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/protocol/byte_order.hpp"

namespace hpcless::executor {

namespace {
constexpr size_t kPrefix = 12;  // type u32, conn_id u64
constexpr size_t kMaxText = 60 * 1024;
}  // namespace

std::pair<UniqueFd, UniqueFd> control_socket_pair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw_system_error("socketpair(SOCK_SEQPACKET)");
  return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

bool send_control(int sock, ControlType type, uint64_t conn_id, std::string_view text,
                  int fd_to_pass) {
  if (text.size() > kMaxText) text = text.substr(0, kMaxText);
  std::vector<std::byte> buf(kPrefix + text.size());
  protocol::store_le<uint32_t>(buf.data(), static_cast<uint32_t>(type));
  protocol::store_le<uint64_t>(buf.data() + 4, conn_id);
  // An empty string_view's data() may be null, which memcpy must not get even for 0 bytes.
  if (!text.empty()) std::memcpy(buf.data() + kPrefix, text.data(), text.size());
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  if (fd_to_pass >= 0) {
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof(cbuf);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd_to_pass, sizeof(int));
  }
  while (true) {
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return true;
    if (errno != EINTR) return false;
  }
}

std::optional<ControlMessage> recv_control(int sock) {
  std::vector<std::byte> buf(kPrefix + kMaxText);
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof(cbuf);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return std::nullopt;
  if (n < 0) {
    if (errno == ECONNRESET) return std::nullopt;
    throw_system_error("recvmsg on the control socket");
  }
  ControlMessage m;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      m.fd.reset(fd);
    }
  }
  if (static_cast<size_t>(n) < kPrefix || (msg.msg_flags & MSG_TRUNC))
    throw ProtocolError("malformed control message");
  m.type = static_cast<ControlType>(protocol::load_le<uint32_t>(buf.data()));
  m.conn_id = protocol::load_le<uint64_t>(buf.data() + 4);
  m.text.assign(reinterpret_cast<const char*>(buf.data() + kPrefix), static_cast<size_t>(n) - kPrefix);
  return m;
}

}  // namespace hpcless::executor
