#include "comm/rendezvous/tcp_store.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "comm/base/deadline_io.hpp"
#include "comm/base/error.hpp"
#include "comm/protocol/byte_order.hpp"

namespace hpcless::rendezvous {

namespace {

using protocol::load_le;
using protocol::store_le;

enum Op : uint8_t { kSet = 1, kGet = 2, kAdd = 3, kErasePrefix = 4 };
enum StatusCode : uint8_t { kOk = 0, kTimeout = 1, kFailed = 2 };

constexpr size_t kRequestHeader = 24;
constexpr size_t kResponseHeader = 16;
constexpr uint32_t kMaxKey = 4096;
constexpr uint32_t kMaxValue = 64u << 20;
// A server-side GET wakes this often to notice that the server is stopping.
constexpr auto kGetSlice = std::chrono::milliseconds(100);

void write_response(int fd, uint8_t status, uint64_t num, std::span<const std::byte> value,
                    Deadline deadline) {
  std::byte head[kResponseHeader] = {};
  head[0] = static_cast<std::byte>(status);
  store_le<uint32_t>(head + 4, static_cast<uint32_t>(value.size()));
  store_le<uint64_t>(head + 8, num);
  write_all(fd, head, deadline, "rendezvous client");
  if (!value.empty()) write_all(fd, value, deadline, "rendezvous client");
}

std::span<const std::byte> text_bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

}  // namespace

StoreServer::StoreServer(const tcp::Endpoint& where) : listener_(where) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) throw_system_error("pipe2");
  stop_read_.reset(p[0]);
  stop_write_.reset(p[1]);
  acceptor_ = std::thread([this] { accept_loop(); });
}

StoreServer::~StoreServer() {
  stopping_ = true;
  const char c = 1;
  (void)!::write(stop_write_.get(), &c, 1);
  acceptor_.join();
  std::lock_guard lock(mu_);
  for (auto& [fd, t] : conns_) ::shutdown(fd.get(), SHUT_RDWR);
  for (auto& [fd, t] : conns_) t.join();
}

void StoreServer::accept_loop() {
  while (!stopping_) {
    pollfd p[2] = {{listener_.fd(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
    if (p[1].revents != 0) return;
    UniqueFd fd;
    try {
      fd = listener_.accept_one();
    } catch (const Error&) {
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    if (!fd) continue;
    std::lock_guard lock(mu_);
    const int raw = fd.get();
    conns_.emplace_back(std::move(fd), std::thread());
    conns_.back().second = std::thread([this, raw] { serve(raw); });
  }
}

void StoreServer::serve(int fd) {
  // One request at a time; any malformed request or I/O error ends this connection only.
  try {
    while (!stopping_) {
      pollfd p[2] = {{fd, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents != 0) return;
      const Deadline io = Deadline::after(std::chrono::seconds(30));
      std::byte head[kRequestHeader];
      read_exact(fd, head, io, "rendezvous client");
      const uint8_t op = static_cast<uint8_t>(head[0]);
      const uint32_t key_len = load_le<uint32_t>(head + 4);
      const uint64_t arg = load_le<uint64_t>(head + 8);
      const uint32_t val_len = load_le<uint32_t>(head + 16);
      if (key_len > kMaxKey || val_len > kMaxValue) {
        const std::string msg = "rendezvous request too large";
        write_response(fd, kFailed, 0, text_bytes(msg), io);
        return;
      }
      std::string key(key_len, '\0');
      read_exact(fd, std::as_writable_bytes(std::span<char>(key.data(), key.size())), io,
                 "rendezvous client");
      std::vector<std::byte> value(val_len);
      read_exact(fd, value, io, "rendezvous client");
      try {
        switch (op) {
          case kSet:
            store_.set(key, value);
            write_response(fd, kOk, 0, {}, io);
            break;
          case kGet: {
            const Deadline until = Deadline::after(std::chrono::milliseconds(arg));
            std::vector<std::byte> v;
            bool found = false;
            while (!found && !stopping_) {
              const uint64_t slice_end =
                  now_ns() +
                  static_cast<uint64_t>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(kGetSlice).count());
              try {
                v = store_.get(key, Deadline::at_ns(std::min(slice_end, until.ns())));
                found = true;
              } catch (const TimeoutError&) {
                if (until.expired()) break;
              }
            }
            if (!found) {
              write_response(fd, kTimeout, 0, {}, Deadline::after(std::chrono::seconds(30)));
            } else {
              write_response(fd, kOk, 0, v, Deadline::after(std::chrono::seconds(30)));
            }
            break;
          }
          case kAdd: {
            const int64_t r = store_.add(key, static_cast<int64_t>(arg));
            write_response(fd, kOk, static_cast<uint64_t>(r), {}, io);
            break;
          }
          case kErasePrefix:
            store_.erase_prefix(key);
            write_response(fd, kOk, 0, {}, io);
            break;
          default: {
            const std::string msg = "unknown rendezvous operation " + std::to_string(op);
            write_response(fd, kFailed, 0, text_bytes(msg), io);
            return;
          }
        }
      } catch (const ConfigError& e) {
        const std::string msg = e.what();
        write_response(fd, kFailed, 0, text_bytes(msg), io);
      }
    }
  } catch (const Error&) {
    // The client went away or sent garbage: drop the connection.
  }
}

TcpStore::TcpStore(const tcp::Endpoint& server, std::chrono::milliseconds io_timeout)
    : server_(server), io_timeout_(io_timeout) {
  fd_ = tcp::connect_tcp(server, Deadline::after(io_timeout));
}

TcpStore::Reply TcpStore::call(uint8_t op, std::string_view key, uint64_t arg,
                               std::span<const std::byte> value, Deadline deadline) {
  if (key.size() > kMaxKey) throw ConfigError("rendezvous key longer than 4096 bytes");
  if (value.size() > kMaxValue) throw ConfigError("rendezvous value larger than 64 MiB");
  std::lock_guard lock(mu_);
  if (!fd_) throw IoError("rendezvous connection to " + server_.to_string() + " is broken");
  const std::string what = "rendezvous server " + server_.to_string();
  try {
    std::byte head[kRequestHeader] = {};
    head[0] = static_cast<std::byte>(op);
    store_le<uint32_t>(head + 4, static_cast<uint32_t>(key.size()));
    store_le<uint64_t>(head + 8, arg);
    store_le<uint32_t>(head + 16, static_cast<uint32_t>(value.size()));
    const Deadline io = Deadline::after(io_timeout_);
    write_all(fd_.get(), head, io, what);
    write_all(fd_.get(), std::as_bytes(std::span<const char>(key.data(), key.size())), io, what);
    if (!value.empty()) write_all(fd_.get(), value, io, what);
    std::byte rhead[kResponseHeader];
    read_exact(fd_.get(), rhead, deadline, what);
    Reply r;
    r.status = static_cast<uint8_t>(rhead[0]);
    const uint32_t len = load_le<uint32_t>(rhead + 4);
    r.num = load_le<uint64_t>(rhead + 8);
    if (len > kMaxValue) throw ProtocolError(what + " sent an oversized reply");
    r.value.resize(len);
    read_exact(fd_.get(), r.value, Deadline::after(io_timeout_), what);
    if (r.status == kFailed)
      throw ConfigError(std::string(reinterpret_cast<const char*>(r.value.data()), len));
    return r;
  } catch (const IoError&) {
    fd_.reset();
    throw;
  } catch (const TimeoutError&) {
    fd_.reset();  // a reply may still arrive later: the stream is out of step
    throw;
  }
}

void TcpStore::set(std::string_view key, std::span<const std::byte> value) {
  (void)call(kSet, key, 0, value, Deadline::after(io_timeout_));
}

std::vector<std::byte> TcpStore::get(std::string_view key, Deadline deadline) {
  // The server waits up to the deadline; the client allows a little more for the reply to travel.
  const int ms = deadline.remaining_ms();
  const uint64_t server_ms = ms < 0 ? (uint64_t{1} << 40) : static_cast<uint64_t>(ms);
  const Deadline client =
      deadline.is_never() ? deadline : Deadline::at_ns(deadline.ns() + 2'000'000'000ull);
  Reply r = call(kGet, key, server_ms, {}, client);
  if (r.status == kTimeout)
    throw TimeoutError("timed out waiting for rendezvous key '" + std::string(key) + "'");
  return std::move(r.value);
}

int64_t TcpStore::add(std::string_view key, int64_t delta) {
  return static_cast<int64_t>(
      call(kAdd, key, static_cast<uint64_t>(delta), {}, Deadline::after(io_timeout_)).num);
}

void TcpStore::erase_prefix(std::string_view prefix) {
  (void)call(kErasePrefix, prefix, 0, {}, Deadline::after(io_timeout_));
}

}  // namespace hpcless::rendezvous
