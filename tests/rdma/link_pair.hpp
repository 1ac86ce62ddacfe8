// A connected pair of RdmaLinks in one process (listener + client), for the RDMA tests that run
// inside the soft-RoCE guest (label rdma). The address comes from HPCLESS_RDMA_ADDRESS.
#pragma once

#include <cstdlib>
#include <future>
#include <memory>
#include <string>

#include "comm/base/error.hpp"
#include "comm/transport/rdma/rdma_link.hpp"

namespace hpcless::test {

inline std::string rdma_address() {
  const char* a = std::getenv("HPCLESS_RDMA_ADDRESS");
  return a != nullptr && *a != '\0' ? a : "198.18.0.1";
}

struct LinkPair {
  std::unique_ptr<rdma::RdmaLink> client;
  std::unique_ptr<rdma::RdmaLink> server;
};

inline LinkPair connect_pair(const rdma::LinkOptions& client_opts = {},
                             const rdma::LinkOptions& server_opts = {},
                             rdma::Ticket ticket = {1, 2}) {
  rdma::Listener listener(rdma_address());
  const std::string ep = listener.endpoint();
  auto fut = std::async(std::launch::async, [&] {
    return rdma::RdmaLink::connect(ep, ticket, client_opts,
                                   Deadline::after(std::chrono::seconds(10)));
  });
  LinkPair p;
  const auto deadline = Deadline::after(std::chrono::seconds(10));
  rdma::Listener::Request req;
  while (!listener.next_request(req)) {
    if (deadline.expired()) throw TimeoutError("no RDMA connection request");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (req.peer.ticket != ticket) throw ProtocolError("ticket mismatch");
  p.server = listener.accept(req, server_opts);
  p.client = fut.get();
  return p;
}

}  // namespace hpcless::test
