// libFuzzer target for the wire decoders: the frame header under several payload limits and, when
// a header decodes, the set-up message bodies on the bytes after it.
//
// Besides "no crash, no sanitizer report", it checks properties the decoders promise:
//   - the limit only decides between kOk and kTooLarge; every other result ignores it;
//   - a decoded header re-encodes to exactly the bytes it came from, and every strict prefix of
//     it is kNeedMore;
//   - a body that decodes re-encodes to exactly the same bytes (the encoding is canonical);
//   - a body that does not decode throws ProtocolError and nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/protocol/frame.hpp"
#include "comm/protocol/messages.hpp"

namespace {

using namespace hpcless::protocol;
using Bytes = std::vector<std::byte>;

// A failed property aborts, which libFuzzer reports as a crash with the input saved.
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "property violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

constexpr uint32_t kLimits[] = {0, 1, 64, 4096, 16u << 20, std::numeric_limits<uint32_t>::max()};

bool header_decoded(DecodeResult r) {
  return r == DecodeResult::kOk || r == DecodeResult::kTooLarge;
}

// Decodes from an exact-size heap copy, so that AddressSanitizer flags any read past the end
// (a prefix view of the fuzzer's buffer would hide it).
DecodeResult decode_copy(std::span<const std::byte> in, uint32_t limit, Header& h, size_t& size) {
  const Bytes copy(in.begin(), in.end());
  return decode_header(copy, limit, h, size);
}

template <class Decode>
void check_body(std::span<const std::byte> body, Decode decode) {
  const Bytes copy(body.begin(), body.end());
  try {
    const auto message = decode(std::span<const std::byte>(copy));
    FUZZ_CHECK(encode(message) == copy);
  } catch (const hpcless::ProtocolError&) {
    // Rejected with the documented exception: the usual outcome for random bytes.
  }
}

void check_bodies(std::span<const std::byte> body) {
  check_body(body, [](std::span<const std::byte> b) { return decode_hello(b); });
  check_body(body, [](std::span<const std::byte> b) { return decode_hello_ack(b); });
  check_body(body, [](std::span<const std::byte> b) { return decode_package_info(b); });
}

void check_decoded_header(std::span<const std::byte> in, const Header& h, size_t size) {
  FUZZ_CHECK(size == h.encoded_size());
  FUZZ_CHECK(size <= in.size());
  const uint8_t type = static_cast<uint8_t>(h.type);
  FUZZ_CHECK(type >= 1 && type <= kMaxMessageType);
  FUZZ_CHECK(static_cast<uint32_t>(h.status) <= kMaxStatus);
  FUZZ_CHECK((h.flags & ~kKnownFlags) == 0);
  FUZZ_CHECK(std::strcmp(to_string(h.type), "unknown-message-type") != 0);
  FUZZ_CHECK(std::strcmp(to_string(h.status), "unknown status") != 0);
  if (!h.has_timestamps()) {
    FUZZ_CHECK(h.timestamps.recv_ns == 0 && h.timestamps.start_ns == 0 &&
               h.timestamps.end_ns == 0 && h.timestamps.send_ns == 0);
  }

  std::byte out[kMaxHeaderSize];
  FUZZ_CHECK(encode_header(h, std::span<std::byte>(out, size - 1)) == 0);  // too small: refused
  FUZZ_CHECK(encode_header(h, out) == size);
  FUZZ_CHECK(std::memcmp(out, in.data(), size) == 0);
}

void check_input(std::span<const std::byte> in) {
  bool decoded_once = false;
  DecodeResult first = DecodeResult::kOk;
  for (size_t i = 0; i < std::size(kLimits); ++i) {
    const uint32_t limit = kLimits[i];
    Header h;
    h.timestamps = {1, 2, 3, 4};  // must be cleared when the header has no timestamps
    size_t size = 0;
    const DecodeResult r = decode_copy(in, limit, h, size);
    FUZZ_CHECK(to_string(r) != nullptr);
    FUZZ_CHECK(std::strcmp(to_string(r), "unknown decode result") != 0);
    const Status status = status_for(r);
    FUZZ_CHECK(static_cast<uint32_t>(status) <= kMaxStatus);
    FUZZ_CHECK((status == Status::kOk) == (r == DecodeResult::kOk || r == DecodeResult::kNeedMore));

    if (i == 0) first = r;
    // The limit only matters once the header itself is valid.
    FUZZ_CHECK(header_decoded(r) == header_decoded(first));
    if (!header_decoded(r)) {
      FUZZ_CHECK(r == first);
      continue;
    }
    FUZZ_CHECK((r == DecodeResult::kTooLarge) == (h.payload_len > limit));
    check_decoded_header(in, h, size);

    if (!decoded_once) {
      decoded_once = true;
      for (size_t n = 0; n < size; ++n) {
        Header partial;
        size_t partial_size = 0;
        FUZZ_CHECK(decode_copy(in.first(n), limit, partial, partial_size) ==
                   DecodeResult::kNeedMore);
      }
      check_bodies(in.subspan(size));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_input({reinterpret_cast<const std::byte*>(data), size});
  return 0;
}
