#include "comm/protocol/frame.hpp"

#include "comm/protocol/byte_order.hpp"

namespace hpcless::protocol {

size_t encode_header(const Header& h, std::span<std::byte> out) noexcept {
  const size_t n = h.encoded_size();
  if (out.size() < n) return 0;
  std::byte* p = out.data();
  store_le<uint32_t>(p + 0, kMagic);
  p[4] = static_cast<std::byte>(kVersion);
  p[5] = static_cast<std::byte>(h.type);
  store_le<uint16_t>(p + 6, h.flags);
  store_le<uint64_t>(p + 8, h.request_id);
  store_le<uint32_t>(p + 16, h.function_id);
  store_le<uint32_t>(p + 20, static_cast<uint32_t>(h.status));
  store_le<uint32_t>(p + 24, h.payload_len);
  store_le<uint32_t>(p + 28, 0);
  if (h.has_timestamps()) {
    store_le<uint64_t>(p + 32, h.timestamps.recv_ns);
    store_le<uint64_t>(p + 40, h.timestamps.start_ns);
    store_le<uint64_t>(p + 48, h.timestamps.end_ns);
    store_le<uint64_t>(p + 56, h.timestamps.send_ns);
  }
  if (h.has_phases()) {
    std::byte* q = p + (h.has_timestamps() ? kHeaderSize + kTimestampsSize : kHeaderSize);
    for (size_t i = 0; i < 3; ++i) store_le<uint64_t>(q + 8 * i, h.phases.ns[i]);
  }
  return n;
}

DecodeResult decode_header(std::span<const std::byte> in, uint32_t max_payload, Header& out,
                           size_t& header_size) noexcept {
  // Check magic and version as soon as their bytes are there, so garbage is rejected early
  // instead of waiting for a full header that may never come.
  if (in.size() >= 4 && load_le<uint32_t>(in.data()) != kMagic) return DecodeResult::kBadMagic;
  if (in.size() >= 5 && static_cast<uint8_t>(in[4]) != kVersion) return DecodeResult::kBadVersion;
  if (in.size() < kHeaderSize) return DecodeResult::kNeedMore;
  const std::byte* p = in.data();
  const uint8_t type = static_cast<uint8_t>(p[5]);
  if (type == 0 || type > kMaxMessageType) return DecodeResult::kBadType;
  const uint16_t flags = load_le<uint16_t>(p + 6);
  if ((flags & ~kKnownFlags) != 0) return DecodeResult::kBadFlags;
  // Only an invoke carries a group block; on anything else the bit is a corrupt frame.
  if ((flags & kFlagGroup) != 0 && type != static_cast<uint8_t>(MessageType::kInvoke))
    return DecodeResult::kBadFlags;
  if (load_le<uint32_t>(p + 28) != 0) return DecodeResult::kBadReserved;
  const uint32_t status = load_le<uint32_t>(p + 20);
  if (status > kMaxStatus) return DecodeResult::kBadStatus;
  const size_t ts_end = kHeaderSize + ((flags & kFlagTimestamps) ? kTimestampsSize : 0);
  const size_t size = ts_end + ((flags & kFlagPhases) ? kPhasesSize : 0);
  if (in.size() < size) return DecodeResult::kNeedMore;

  out.type = static_cast<MessageType>(type);
  out.flags = flags;
  out.request_id = load_le<uint64_t>(p + 8);
  out.function_id = load_le<uint32_t>(p + 16);
  out.status = static_cast<Status>(status);
  out.payload_len = load_le<uint32_t>(p + 24);
  if (flags & kFlagTimestamps) {
    out.timestamps.recv_ns = load_le<uint64_t>(p + 32);
    out.timestamps.start_ns = load_le<uint64_t>(p + 40);
    out.timestamps.end_ns = load_le<uint64_t>(p + 48);
    out.timestamps.send_ns = load_le<uint64_t>(p + 56);
  } else {
    out.timestamps = {};
  }
  if (flags & kFlagPhases) {
    for (size_t i = 0; i < 3; ++i) out.phases.ns[i] = load_le<uint64_t>(p + ts_end + 8 * i);
  } else {
    out.phases = {};
  }
  header_size = size;
  if (out.payload_len > max_payload) return DecodeResult::kTooLarge;
  return DecodeResult::kOk;
}

const char* to_string(MessageType t) noexcept {
  switch (t) {
    case MessageType::kHello: return "hello";
    case MessageType::kHelloAck: return "hello-ack";
    case MessageType::kInvoke: return "invoke";
    case MessageType::kResult: return "result";
    case MessageType::kError: return "error";
    case MessageType::kPing: return "ping";
    case MessageType::kPong: return "pong";
    case MessageType::kLoadPackage: return "load-package";
    case MessageType::kPackageLoaded: return "package-loaded";
  }
  return "unknown-message-type";
}

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kFunctionFailed: return "function failed";
    case Status::kUnknownFunction: return "unknown function";
    case Status::kPayloadTooLarge: return "payload too large";
    case Status::kMalformedFrame: return "malformed frame";
    case Status::kUnsupportedVersion: return "unsupported protocol version";
    case Status::kNotAuthenticated: return "not authenticated";
    case Status::kWorkerCrashed: return "worker crashed";
    case Status::kTooManyInFlight: return "too many requests in flight";
    case Status::kPackageLoadFailed: return "package load failed";
    case Status::kTokenInvalid: return "lease token invalid";
    case Status::kTokenExpired: return "lease token expired";
    case Status::kInternal: return "internal error";
    case Status::kUnexpectedMessage: return "unexpected message";
    case Status::kShuttingDown: return "shutting down";
    case Status::kLeaseEnded: return "lease ended";
    case Status::kMemoryLimit: return "memory limit exceeded";
    case Status::kTransportUnavailable: return "transport unavailable";
  }
  return "unknown status";
}

const char* to_string(DecodeResult r) noexcept {
  switch (r) {
    case DecodeResult::kOk: return "ok";
    case DecodeResult::kNeedMore: return "incomplete header";
    case DecodeResult::kBadMagic: return "bad magic (not an hpcless frame)";
    case DecodeResult::kBadVersion: return "unsupported protocol version";
    case DecodeResult::kBadType: return "unknown message type";
    case DecodeResult::kBadFlags: return "unknown flag bits";
    case DecodeResult::kBadReserved: return "reserved header bits set";
    case DecodeResult::kBadStatus: return "unknown status code";
    case DecodeResult::kTooLarge: return "payload larger than the limit";
  }
  return "unknown decode result";
}

Status status_for(DecodeResult r) noexcept {
  switch (r) {
    case DecodeResult::kOk:
    case DecodeResult::kNeedMore: return Status::kOk;
    case DecodeResult::kBadVersion: return Status::kUnsupportedVersion;
    case DecodeResult::kTooLarge: return Status::kPayloadTooLarge;
    default: return Status::kMalformedFrame;
  }
}

}  // namespace hpcless::protocol
