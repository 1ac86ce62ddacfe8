#include "comm/collectives/context.hpp"

#include "comm/base/error.hpp"

namespace hpcless::comm::coll {

std::byte* Workspace::get(int slot, size_t bytes) {
  HPCLESS_CHECK(slot >= 0 && slot < kSlots, "workspace slot out of range");
  if (bytes > cap_[slot]) {
    buf_[slot].reset();  // release first: peak memory stays at one buffer
    buf_[slot] = std::make_unique_for_overwrite<std::byte[]>(bytes);
    cap_[slot] = bytes;
  }
  return buf_[slot].get();
}

void Context::send(int peer, const void* data, size_t bytes) {
  const RequestId id = ch.isend(peer, tag, data, bytes);
  ch.wait_all({&id, 1}, deadline);
}

void Context::recv(int peer, void* data, size_t bytes) {
  Batch b(*this);
  b.recv(peer, data, bytes);
  b.wait();
}

void Context::sendrecv(int dst, const void* sdata, size_t sbytes, int src, void* rdata,
                       size_t rbytes) {
  Batch b(*this);
  b.recv(src, rdata, rbytes);
  b.send(dst, sdata, sbytes);
  b.wait();
}

void Batch::send(int peer, const void* data, size_t bytes) {
  ids_.push_back(c_.ch.isend(peer, c_.tag, data, bytes));
  expect_.push_back(kSend);
  peers_.push_back(peer);
}

void Batch::recv(int peer, void* data, size_t bytes) {
  ids_.push_back(c_.ch.irecv(peer, c_.tag, data, bytes));
  expect_.push_back(bytes);
  peers_.push_back(peer);
}

void Batch::wait() {
  got_.resize(ids_.size());
  c_.ch.wait_all(ids_, c_.deadline, got_.data());
  for (size_t i = 0; i < ids_.size(); ++i) {
    if (expect_[i] != kSend && got_[i] != expect_[i])
      throw ProtocolError("rank " + std::to_string(peers_[i]) + " sent " + std::to_string(got_[i]) +
                          " bytes where " + std::to_string(expect_[i]) +
                          " were expected (do all ranks call the same collective with the same "
                          "sizes?)");
  }
  ids_.clear();
  expect_.clear();
  peers_.clear();
}

void split_blocks(size_t count, int n, std::vector<size_t>& off) {
  off.resize(static_cast<size_t>(n) + 1);
  const size_t base = count / static_cast<size_t>(n);
  const size_t extra = count % static_cast<size_t>(n);
  off[0] = 0;
  for (int i = 0; i < n; ++i) off[i + 1] = off[i] + base + (static_cast<size_t>(i) < extra ? 1 : 0);
}

}  // namespace hpcless::comm::coll
