#include "comm/protocol/messages.hpp"

#include <string_view>

#include "comm/base/error.hpp"
#include "comm/protocol/byte_order.hpp"

namespace hpcless::protocol {

namespace {

class Writer {
 public:
  template <class T>
  void put(T v) {
    std::byte b[sizeof(T)];
    store_le<std::make_unsigned_t<T>>(b, static_cast<std::make_unsigned_t<T>>(v));
    out_.insert(out_.end(), b, b + sizeof(T));
  }
  void put_string(std::string_view s, size_t max_len) {
    HPCLESS_CHECK(s.size() <= max_len, "string field too long to encode");
    put<uint16_t>(static_cast<uint16_t>(s.size()));
    auto* p = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), p, p + s.size());
  }
  void put_list(const std::vector<std::string>& list) {
    HPCLESS_CHECK(list.size() <= kMaxFunctions, "too many functions to encode");
    put<uint16_t>(static_cast<uint16_t>(list.size()));
    for (const auto& s : list) put_string(s, kMaxStringLen);
  }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

class Reader {
 public:
  Reader(std::span<const std::byte> in, const char* what) : in_(in), what_(what) {}
  template <class T>
  T get() {
    need(sizeof(T));
    auto v = load_le<std::make_unsigned_t<T>>(in_.data() + pos_);
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }
  std::string get_string(size_t max_len) {
    const size_t n = get<uint16_t>();
    if (n > max_len) fail("string field of " + std::to_string(n) + " bytes exceeds the limit");
    need(n);
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::vector<std::string> get_list() {
    const size_t n = get<uint16_t>();
    if (n > kMaxFunctions) fail("list of " + std::to_string(n) + " entries exceeds the limit");
    std::vector<std::string> list;
    list.reserve(n);
    for (size_t i = 0; i < n; ++i) list.push_back(get_string(kMaxStringLen));
    return list;
  }
  void finish() {
    if (pos_ != in_.size())
      fail(std::to_string(in_.size() - pos_) + " unexpected trailing bytes");
  }

 private:
  void need(size_t n) {
    if (in_.size() - pos_ < n) fail("truncated body");
  }
  [[noreturn]] void fail(const std::string& why) {
    throw ProtocolError(std::string("malformed ") + what_ + " message: " + why);
  }
  std::span<const std::byte> in_;
  size_t pos_ = 0;
  const char* what_;
};

}  // namespace

std::vector<std::byte> encode(const Hello& m) {
  Writer w;
  w.put<int32_t>(m.hot_timeout_ms);
  w.put<uint32_t>(m.max_inflight);
  w.put_string(m.token, kMaxTokenLen);
  w.put_string(m.client_name, kMaxStringLen);
  w.put<uint8_t>(m.transport);
  return w.take();
}

std::vector<std::byte> encode(const HelloAck& m) {
  Writer w;
  w.put<uint32_t>(m.max_payload);
  w.put<uint32_t>(m.max_inflight);
  w.put<uint32_t>(m.worker_id);
  w.put<int32_t>(m.hot_timeout_ms);
  w.put_string(m.node_name, kMaxStringLen);
  w.put_string(m.package_name, kMaxStringLen);
  w.put_list(m.functions);
  w.put<uint64_t>(m.worker_spawn_ns);
  w.put<uint64_t>(m.worker_package_ns);
  w.put<uint8_t>(m.fresh_worker);
  w.put_string(m.rdma_endpoint, kMaxStringLen);
  w.put<uint64_t>(m.rdma_ticket[0]);
  w.put<uint64_t>(m.rdma_ticket[1]);
  return w.take();
}

std::vector<std::byte> encode(const PackageInfo& m) {
  Writer w;
  w.put_string(m.package_name, kMaxStringLen);
  w.put_list(m.functions);
  return w.take();
}

Hello decode_hello(std::span<const std::byte> body) {
  Reader r(body, "hello");
  Hello m;
  m.hot_timeout_ms = r.get<int32_t>();
  if (m.hot_timeout_ms < -1) throw ProtocolError("malformed hello message: hot timeout below -1");
  m.max_inflight = r.get<uint32_t>();
  m.token = r.get_string(kMaxTokenLen);
  m.client_name = r.get_string(kMaxStringLen);
  m.transport = r.get<uint8_t>();
  if (m.transport > kTransportRdma)
    throw ProtocolError("malformed hello message: unknown transport " + std::to_string(m.transport));
  r.finish();
  return m;
}

HelloAck decode_hello_ack(std::span<const std::byte> body) {
  Reader r(body, "hello-ack");
  HelloAck m;
  m.max_payload = r.get<uint32_t>();
  m.max_inflight = r.get<uint32_t>();
  m.worker_id = r.get<uint32_t>();
  m.hot_timeout_ms = r.get<int32_t>();
  m.node_name = r.get_string(kMaxStringLen);
  m.package_name = r.get_string(kMaxStringLen);
  m.functions = r.get_list();
  m.worker_spawn_ns = r.get<uint64_t>();
  m.worker_package_ns = r.get<uint64_t>();
  m.fresh_worker = r.get<uint8_t>();
  if (m.fresh_worker > 1) throw ProtocolError("malformed hello-ack message: fresh_worker above 1");
  m.rdma_endpoint = r.get_string(kMaxStringLen);
  m.rdma_ticket[0] = r.get<uint64_t>();
  m.rdma_ticket[1] = r.get<uint64_t>();
  r.finish();
  return m;
}

PackageInfo decode_package_info(std::span<const std::byte> body) {
  Reader r(body, "package-loaded");
  PackageInfo m;
  m.package_name = r.get_string(kMaxStringLen);
  m.functions = r.get_list();
  r.finish();
  return m;
}

std::vector<std::byte> encode_group_prefix(const GroupBlock& m) {
  Writer w;
  w.put<uint32_t>(0);  // length, patched below
  w.put<uint8_t>(kGroupBlockVersion);
  w.put_string(m.group, kMaxStringLen);
  w.put<uint32_t>(m.rank);
  w.put<uint32_t>(m.size);
  w.put_string(m.rendezvous, kMaxStringLen);
  w.put_string(m.channel, kMaxStringLen);
  w.put_string(m.listen_host, kMaxStringLen);
  w.put<uint32_t>(m.timeout_ms);
  w.put<uint64_t>(m.message_bytes);
  auto out = w.take();
  store_le<uint32_t>(out.data(), static_cast<uint32_t>(out.size() - 4));
  return out;
}

GroupSplit split_group_payload(std::span<const std::byte> payload) {
  if (payload.size() < 4) throw ProtocolError("malformed group block: shorter than its length");
  const uint32_t len = load_le<uint32_t>(payload.data());
  if (len > payload.size() - 4)
    throw ProtocolError("malformed group block: length " + std::to_string(len) +
                        " runs past the payload of " + std::to_string(payload.size()) + " bytes");
  Reader r(payload.subspan(4, len), "group block");
  GroupSplit g;
  const auto version = r.get<uint8_t>();
  if (version != kGroupBlockVersion)
    throw ProtocolError("malformed group block: version " + std::to_string(version) +
                        " (this worker knows " + std::to_string(kGroupBlockVersion) + ")");
  g.block.group = r.get_string(kMaxStringLen);
  g.block.rank = r.get<uint32_t>();
  g.block.size = r.get<uint32_t>();
  g.block.rendezvous = r.get_string(kMaxStringLen);
  g.block.channel = r.get_string(kMaxStringLen);
  g.block.listen_host = r.get_string(kMaxStringLen);
  g.block.timeout_ms = r.get<uint32_t>();
  g.block.message_bytes = r.get<uint64_t>();
  r.finish();
  if (g.block.group.empty()) throw ProtocolError("malformed group block: empty group id");
  if (g.block.size == 0 || g.block.size > kMaxGroupSize || g.block.rank >= g.block.size)
    throw ProtocolError("malformed group block: rank " + std::to_string(g.block.rank) +
                        " of size " + std::to_string(g.block.size));
  g.input = payload.subspan(4 + len);
  return g;
}

}  // namespace hpcless::protocol
