// Writes the seed corpus of protocol_decoder_fuzzer: one file per typical frame (header + body),
// produced by the real encoders so that the seeds follow the protocol as it evolves.
//
// Usage: make_protocol_corpus <directory>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "comm/protocol/frame.hpp"
#include "comm/protocol/messages.hpp"

namespace {

using namespace hpcless::protocol;
using Bytes = std::vector<std::byte>;

Bytes text_bytes(std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return Bytes(p, p + s.size());
}

// A frame whose payload_len matches the body, unless `declared_len` overrides it.
Bytes frame(Header h, const Bytes& body, int64_t declared_len = -1) {
  h.payload_len =
      declared_len < 0 ? static_cast<uint32_t>(body.size()) : static_cast<uint32_t>(declared_len);
  Bytes out(h.encoded_size());
  encode_header(h, out);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Header header(MessageType type, uint64_t request_id, uint32_t function_id = 0,
              Status status = Status::kOk, bool timestamps = false) {
  Header h;
  h.type = type;
  h.request_id = request_id;
  h.function_id = function_id;
  h.status = status;
  if (timestamps) {
    h.flags = kFlagTimestamps;
    h.timestamps = {1'000, 2'000, 3'000, 4'000};
  }
  return h;
}

bool write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];

  Hello hello;
  hello.hot_timeout_ms = 100;
  hello.max_inflight = 16;
  hello.token = "v1.lease-42.node-01.1700000000.c2lnbmF0dXJl";
  hello.client_name = "fuzz-seed";

  HelloAck ack;
  ack.max_payload = 1u << 20;
  ack.max_inflight = 16;
  ack.worker_id = 1;
  ack.hot_timeout_ms = 100;
  ack.node_name = "node-01";
  ack.package_name = "core";
  ack.functions = {"noop", "echo", "sleep"};

  PackageInfo package;
  package.package_name = "graph";
  package.functions = {"bfs", "pagerank", "mst"};

  Bytes payload(64);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i);
  const Bytes hello_frame = frame(header(MessageType::kHello, 1), encode(hello));

  const struct {
    const char* name;
    Bytes bytes;
  } seeds[] = {
      {"hello", hello_frame},
      {"hello-empty", frame(header(MessageType::kHello, 0), encode(Hello{}))},
      {"hello-ack", frame(header(MessageType::kHelloAck, 1), encode(ack))},
      {"hello-ack-empty", frame(header(MessageType::kHelloAck, 1), encode(HelloAck{}))},
      {"package-loaded", frame(header(MessageType::kPackageLoaded, 2), encode(package))},
      {"invoke", frame(header(MessageType::kInvoke, 3, 1), payload)},
      {"invoke-empty", frame(header(MessageType::kInvoke, 4, 0), {})},
      {"result-timestamps", frame(header(MessageType::kResult, 3, 1, Status::kOk, true),
                                  Bytes(payload.begin(), payload.begin() + 16))},
      {"error", frame(header(MessageType::kError, 5, 9, Status::kUnknownFunction, true),
                      text_bytes("unknown function id 9"))},
      {"ping", frame(header(MessageType::kPing, 6), text_bytes("ping"))},
      {"load-package", frame(header(MessageType::kLoadPackage, 7), text_bytes("\x7f"
                                                                              "ELF"))},
      {"too-large", frame(header(MessageType::kInvoke, 8), {}, 0xffffffff)},
      {"truncated", Bytes(hello_frame.begin(), hello_frame.begin() + 20)},
  };
  for (const auto& seed : seeds) {
    const std::string path = dir + "/" + seed.name;
    if (!write_file(path, seed.bytes)) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seeds to %s\n", std::size(seeds), dir.c_str());
  return 0;
}
