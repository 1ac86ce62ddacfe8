// Connection set-up of the RDMA channel (see rdma_channel.hpp).
#include <poll.h>
#include <sys/random.h>

#include <cerrno>

#include "comm/base/deadline_io.hpp"
#include "comm/base/error.hpp"
#include "comm/channel/rdma/rdma_channel.hpp"
#include "comm/channel/rdma/wire.hpp"

namespace hpcless::comm {

namespace {

std::string addr_key(int rank) { return "rdma/addr/" + std::to_string(rank); }
// The ticket that rank `from` presents when it connects to rank `to` (from < to).
std::string ticket_key(int from, int to) {
  return "rdma/ticket/" + std::to_string(from) + "/" + std::to_string(to);
}

rdma::Ticket random_ticket() {
  rdma::Ticket t{};
  auto* p = reinterpret_cast<unsigned char*>(t.data());
  size_t got = 0;
  while (got < sizeof(t)) {
    const ssize_t n = ::getrandom(p + got, sizeof(t) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_system_error("getrandom");
    got += static_cast<size_t>(n);
  }
  return t;
}

rdma::LinkOptions link_options(const DirectOptions& o) {
  if (o.rdma_slots < 2 || o.rdma_slots > 1024)
    throw ConfigError("rdma_slots must be 2 .. 1024, got " + std::to_string(o.rdma_slots));
  rdma::LinkOptions l;
  l.slots = o.rdma_slots;
  return l;
}

}  // namespace

void RdmaChannel::connect_mesh(rendezvous::Store& store, Deadline deadline) {
  const rdma::LinkOptions lo = link_options(options_);
  // Throws IoError naming the address when no RDMA device serves it.
  rdma::Listener listener(options_.rdma_address);
  device_ = listener.device_name();

  // Connect to every higher rank. Each publishes its address only once it is accepting, so the
  // connection is answered at once; the highest rank accepts first, then the next, and so on.
  for (int j = rank_ + 1; j < size_; ++j) {
    std::string addr, ticket_text;
    try {
      ticket_text = store.get_string(ticket_key(rank_, j), deadline);
      addr = store.get_string(addr_key(j), deadline);
    } catch (const TimeoutError&) {
      throw TimeoutError("group '" + group_ + "': " + peer_name(j) +
                         " did not publish its RDMA address in time (did it start, and did the "
                         "ranks above it?)");
    }
    const auto ticket = rdma_wire::ticket_from_text(ticket_text);
    if (!ticket)
      throw ProtocolError("group '" + group_ + "': " + peer_name(j) +
                          " published a malformed RDMA ticket");
    try {
      adopt_link(j, rdma::RdmaLink::connect(addr, *ticket, lo, deadline));
    } catch (const TimeoutError& e) {
      throw TimeoutError("connecting over RDMA to " + peer_name(j) + " at " + addr + ": " +
                         e.what());
    } catch (const Error& e) {
      throw IoError("connecting over RDMA to " + peer_name(j) + " at " + addr + ": " + e.what());
    }
  }

  // A fresh ticket for each lower rank, then the address (a lower rank reads its ticket first).
  std::vector<rdma::Ticket> tickets(static_cast<size_t>(rank_));
  for (int i = 0; i < rank_; ++i) {
    tickets[i] = random_ticket();
    store.set_string(ticket_key(i, rank_), rdma_wire::ticket_to_text(tickets[i]));
  }
  store.set_string(addr_key(rank_), listener.endpoint());

  // Accept every lower rank; a request with any other ticket (a stranger, another group, a
  // duplicate) is refused.
  int missing = rank_;
  while (missing > 0) {
    rdma::Listener::Request req;
    if (!listener.next_request(req)) {
      if (!wait_fd(listener.fd(), POLLIN, deadline)) {
        std::string who;
        for (int i = 0; i < rank_; ++i)
          if (!peers_[i].link) who += (who.empty() ? "" : ", ") + std::to_string(i);
        throw TimeoutError("group '" + group_ + "': rank(s) " + who +
                           " did not connect over RDMA to rank " + std::to_string(rank_) +
                           " in time");
      }
      continue;
    }
    int from = -1;
    for (int i = 0; i < rank_; ++i)
      if (!peers_[i].link && req.peer.ticket == tickets[i]) from = i;
    if (from < 0) {
      listener.reject(req);
      continue;
    }
    try {
      adopt_link(from, listener.accept(req, lo));
    } catch (const Error& e) {
      throw IoError("accepting " + peer_name(from) + " over RDMA: " + e.what());
    }
    --missing;
  }
}

}  // namespace hpcless::comm
