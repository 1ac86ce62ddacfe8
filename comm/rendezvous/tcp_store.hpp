// A rendezvous store for ranks that are separate processes: StoreServer keeps a MemoryStore and
// serves it over TCP; TcpStore is the client. Meant for tests, the probe and single-node runs; the
// Redis and manager stores replace it on a cluster.
//
// Wire format (little-endian), one request then one response per round trip:
//   request : op u8, 3 reserved, key_len u32, arg u64 (GET: timeout ms; ADD: delta as int64),
//             val_len u32, 4 reserved, key bytes, value bytes
//   response: status u8 (0 ok, 1 timeout, 2 error), 3 reserved, val_len u32, num u64 (ADD result),
//             value bytes (GET value, or the error message)
//
// Thread safety: TcpStore serialises calls on its one connection with a mutex (a get() blocks
// other callers of the same TcpStore until it returns). StoreServer runs its own threads;
// construct and destroy it from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "comm/base/fd.hpp"
#include "comm/rendezvous/memory_store.hpp"
#include "comm/rendezvous/store.hpp"
#include "comm/transport/tcp/endpoint.hpp"

namespace hpcless::rendezvous {

class StoreServer {
 public:
  // Listens on `where` (port 0 picks a free port; see endpoint()).
  explicit StoreServer(const tcp::Endpoint& where = {"127.0.0.1", 0});
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  const tcp::Endpoint& endpoint() const { return listener_.bound_endpoint(); }
  MemoryStore& store() { return store_; }

 private:
  void accept_loop();
  void serve(int fd);

  MemoryStore store_;
  tcp::Listener listener_;
  UniqueFd stop_read_, stop_write_;  // a pipe: written once to wake every poll() on stop
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards conns_
  std::list<std::pair<UniqueFd, std::thread>> conns_;
  std::thread acceptor_;
};

class TcpStore final : public Store {
 public:
  // Connects with a deadline (now + io_timeout). io_timeout also bounds set/add/erase_prefix.
  explicit TcpStore(const tcp::Endpoint& server,
                    std::chrono::milliseconds io_timeout = std::chrono::seconds(30));

  void set(std::string_view key, std::span<const std::byte> value) override;
  std::vector<std::byte> get(std::string_view key, Deadline deadline) override;
  int64_t add(std::string_view key, int64_t delta) override;
  void erase_prefix(std::string_view prefix) override;

 private:
  struct Reply {
    uint8_t status;
    uint64_t num;
    std::vector<std::byte> value;
  };
  Reply call(uint8_t op, std::string_view key, uint64_t arg, std::span<const std::byte> value,
             Deadline deadline);

  std::mutex mu_;
  tcp::Endpoint server_;
  std::chrono::milliseconds io_timeout_;
  UniqueFd fd_;
};

}  // namespace hpcless::rendezvous
