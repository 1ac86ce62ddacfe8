// Wire protocol v1: the frame header shared by every transport.
//
// Layout (little-endian, 32 bytes, then an optional 32-byte timestamp block, then an optional
// 24-byte phase block, then the payload):
//   off size field
//    0   4   magic        0x4C435048 ("HPCL" in memory order)
//    4   1   version      1
//    5   1   type         MessageType
//    6   2   flags        bit 0: server timestamps follow the header
//                         bit 1: a phase block follows (after the timestamps, if any)
//                         bit 2: cold (the worker process ran this function for the first time)
//    8   8   request_id   chosen by the client, echoed in the reply
//   16   4   function_id  index into the package manifest (Invoke); 0 otherwise
//   20   4   status       Status (replies); 0 in requests
//   24   4   payload_len  bytes of payload after the header (and timestamps)
//   28   4   reserved     must be 0
// Timestamp block (flag bit 0): recv_ns, start_ns, end_ns, send_ns as u64 (server CLOCK_MONOTONIC).
// Phase block (flag bit 1): download_ns, compute_ns, upload_ns as u64 (durations the function
// timed with phase_begin/phase_end; 0 = phase not used).
//
// Thread safety: all functions here are pure and reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace hpcless::protocol {

inline constexpr uint32_t kMagic = 0x4C435048u;
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 32;
inline constexpr size_t kTimestampsSize = 32;
inline constexpr size_t kPhasesSize = 24;
inline constexpr size_t kMaxHeaderSize = kHeaderSize + kTimestampsSize + kPhasesSize;

enum class MessageType : uint8_t {
  kHello = 1,          // client -> worker: authentication and options (payload: Hello)
  kHelloAck = 2,       // worker -> client: limits and function list (payload: HelloAck)
  kInvoke = 3,         // client -> worker: run function_id on the payload
  kResult = 4,         // worker -> client: output of a successful invocation
  kError = 5,          // worker -> client: status != kOk, payload is a UTF-8 message
  kPing = 6,           // either direction; answered with kPong carrying the same payload
  kPong = 7,
  kLoadPackage = 8,    // client -> worker: payload is a function package (shared library bytes)
  kPackageLoaded = 9,  // worker -> client: payload is PackageInfo
};
inline constexpr uint8_t kMaxMessageType = 9;

enum Flags : uint16_t {
  kFlagTimestamps = 1u << 0,
  kFlagPhases = 1u << 1,  // result/error: the phase block follows
  kFlagCold = 1u << 2,    // result/error: first run of this function in this worker process
  kFlagGroup = 1u << 3,   // invoke: the payload starts with a GroupBlock (messages.hpp)
};
inline constexpr uint16_t kKnownFlags = kFlagTimestamps | kFlagPhases | kFlagCold | kFlagGroup;

enum class Status : uint32_t {
  kOk = 0,
  kFunctionFailed = 1,      // the function returned an error
  kUnknownFunction = 2,     // function id not in the package
  kPayloadTooLarge = 3,     // payload above the connection's limit
  kMalformedFrame = 4,      // bad magic, type, flags or reserved bits
  kUnsupportedVersion = 5,  // protocol version not spoken by the peer
  kNotAuthenticated = 6,    // a request before a successful Hello
  kWorkerCrashed = 7,       // the worker process died while running the request
  kTooManyInFlight = 8,     // more requests outstanding than the limit
  kPackageLoadFailed = 9,   // shipped package could not be loaded
  kTokenInvalid = 10,       // forged or altered lease token
  kTokenExpired = 11,       // lease token past its expiry
  kInternal = 12,           // unexpected failure inside the worker
  kUnexpectedMessage = 13,  // a valid frame of a type not allowed here
  kShuttingDown = 14,       // the worker is stopping
  kLeaseEnded = 15,         // the lease was released or failed
  kMemoryLimit = 16,        // the function exceeded the lease's memory limit
  kTransportUnavailable = 17,  // the hello asked for a transport this worker does not offer
};
inline constexpr uint32_t kMaxStatus = 17;

struct ServerTimestamps {
  uint64_t recv_ns = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t send_ns = 0;
};

// Per-phase durations of one invocation, indexed like hpcless_phase (download, compute, upload).
struct PhaseTimes {
  uint64_t ns[3] = {0, 0, 0};
  uint64_t download_ns() const noexcept { return ns[0]; }
  uint64_t compute_ns() const noexcept { return ns[1]; }
  uint64_t upload_ns() const noexcept { return ns[2]; }
};

struct Header {
  MessageType type = MessageType::kPing;
  uint16_t flags = 0;
  uint64_t request_id = 0;
  uint32_t function_id = 0;
  Status status = Status::kOk;
  uint32_t payload_len = 0;
  ServerTimestamps timestamps;  // meaningful only with kFlagTimestamps
  PhaseTimes phases;            // meaningful only with kFlagPhases

  bool has_timestamps() const noexcept { return (flags & kFlagTimestamps) != 0; }
  bool has_phases() const noexcept { return (flags & kFlagPhases) != 0; }
  bool cold() const noexcept { return (flags & kFlagCold) != 0; }
  size_t encoded_size() const noexcept {
    return kHeaderSize + (has_timestamps() ? kTimestampsSize : 0) +
           (has_phases() ? kPhasesSize : 0);
  }
};

enum class DecodeResult : uint8_t {
  kOk,
  kNeedMore,      // fewer bytes than the header needs: read more and retry
  kBadMagic,
  kBadVersion,
  kBadType,
  kBadFlags,
  kBadReserved,
  kBadStatus,
  kTooLarge,      // payload_len above the caller's limit (the header itself was valid)
};

// Writes the header (and the timestamp and phase blocks when flagged) into `out`.
// Returns the bytes written, or 0 if `out` is too small.
size_t encode_header(const Header& h, std::span<std::byte> out) noexcept;

// Decodes a header from the start of `in`. On kOk and kTooLarge, `out` and `header_size` are set
// (so that the caller can answer with the request id). Never reads past `in`.
DecodeResult decode_header(std::span<const std::byte> in, uint32_t max_payload, Header& out,
                           size_t& header_size) noexcept;

const char* to_string(MessageType t) noexcept;
const char* to_string(Status s) noexcept;
const char* to_string(DecodeResult r) noexcept;

// The status a peer should report for a decode failure.
Status status_for(DecodeResult r) noexcept;

}  // namespace hpcless::protocol
