// Connection set-up of the direct channel (see direct_channel.hpp).
#include <algorithm>

#include "comm/base/deadline_io.hpp"
#include "comm/base/error.hpp"
#include "comm/channel/direct/direct_channel.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::comm {

namespace {

std::string addr_key(int rank) { return "direct/addr/" + std::to_string(rank); }

// Reads a hello; returns false for a connection that is not one of ours (it is dropped).
bool read_hello(int fd, Deadline deadline, direct::Hello& h) {
  std::byte head[direct::kHelloBytes];
  read_exact(fd, head, deadline, "a connecting peer");
  if (protocol::load_le<uint32_t>(head) != direct::kHelloMagic ||
      protocol::load_le<uint16_t>(head + 4) != direct::kHelloVersion)
    return false;
  h.from = protocol::load_le<uint32_t>(head + 8);
  h.to = protocol::load_le<uint32_t>(head + 12);
  h.size = protocol::load_le<uint32_t>(head + 16);
  const uint32_t len = protocol::load_le<uint32_t>(head + 20);
  if (len > direct::kMaxGroupName) return false;
  h.group.assign(len, '\0');
  read_exact(fd, std::as_writable_bytes(std::span<char>(h.group.data(), len)), deadline,
             "a connecting peer");
  return true;
}

}  // namespace

void DirectChannel::connect_mesh(rendezvous::Store& store, Deadline deadline) {
  if (size_ == 1) return;
  tcp::Listener listener(tcp::Endpoint{options_.listen_host, 0});
  store.set_string(addr_key(rank_), listener.bound_endpoint().to_string());

  // Connect to every higher rank. Their kernels accept from the listen backlog even before they
  // call accept(), so this never waits for a peer that is itself busy connecting.
  for (int j = rank_ + 1; j < size_; ++j) {
    std::string addr;
    try {
      addr = store.get_string(addr_key(j), deadline);
    } catch (const TimeoutError&) {
      throw TimeoutError("group '" + group_ + "': " + peer_name(j) +
                         " did not publish its address in time (did it start?)");
    }
    UniqueFd fd;
    try {
      fd = tcp::connect_tcp(tcp::parse_endpoint(addr), deadline);
      const auto hello =
          direct::encode_hello({static_cast<uint32_t>(rank_), static_cast<uint32_t>(j),
                                static_cast<uint32_t>(size_), group_});
      write_all(fd.get(), hello, deadline, peer_name(j));
    } catch (const TimeoutError& e) {
      throw TimeoutError("connecting to " + peer_name(j) + " at " + addr + ": " + e.what());
    } catch (const Error& e) {
      throw IoError("connecting to " + peer_name(j) + " at " + addr + ": " + e.what());
    }
    links_[j].fd = std::move(fd);
  }

  // Accept every lower rank.
  int missing = rank_;
  while (missing > 0) {
    if (!wait_fd(listener.fd(), POLLIN, deadline)) {
      std::string who;
      for (int i = 0; i < rank_; ++i)
        if (!links_[i].fd) who += (who.empty() ? "" : ", ") + std::to_string(i);
      throw TimeoutError("group '" + group_ + "': rank(s) " + who + " did not connect to rank " +
                         std::to_string(rank_) + " in time");
    }
    UniqueFd fd = listener.accept_one();
    if (!fd) continue;
    direct::Hello h;
    try {
      // A stranger that connects and stays silent costs at most a second.
      const Deadline hello_deadline =
          Deadline::at_ns(std::min<uint64_t>(deadline.ns(), now_ns() + 1'000'000'000ull));
      if (!read_hello(fd.get(), hello_deadline, h)) continue;
    } catch (const Error&) {
      continue;
    }
    if (h.group != group_ || h.to != static_cast<uint32_t>(rank_) ||
        h.size != static_cast<uint32_t>(size_) || h.from >= static_cast<uint32_t>(rank_) ||
        links_[h.from].fd)
      continue;
    links_[h.from].fd = std::move(fd);
    --missing;
  }
}

}  // namespace hpcless::comm
