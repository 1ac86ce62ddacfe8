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

}  // namespace hpcless::protocol
