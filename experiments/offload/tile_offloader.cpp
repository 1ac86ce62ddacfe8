#include "experiments/offload/tile_offloader.hpp"

#include <algorithm>
#include <cstring>
#include <deque>

#include "comm/base/error.hpp"
#include "functions/offload/tile_format.hpp"

namespace hpcless::offload {

namespace {

struct InFlight {
  client::Future future;
  uint32_t tile = 0;  // index among the job's tiles
  uint32_t row = 0;   // first row within the job's block
  uint32_t m = 0;
};

}  // namespace

OffloadStats offload_tiles(client::Lease& lease, const OffloadJob& job, Deadline deadline) {
  OffloadStats st;
  if (job.tiles == 0) return st;
  const uint64_t t0 = now_ns();
  TileEncoder enc(job.n, job.n, job.b);
  const size_t window = static_cast<size_t>(job.depth) * lease.workers();
  std::deque<InFlight> pending;
  uint32_t next = 0, next_row = 0;

  while (next < job.tiles || !pending.empty()) {
    // Fill the pipeline. send_frame writes the whole input before invoke_async returns, so
    // the encoder's buffer can be reused for the next tile at once.
    while (next < job.tiles && pending.size() < window) {
      const uint32_t row = job.first_row + next_row;
      const uint32_t m = std::min(job.tile, job.rows - next_row);
      const auto input = enc.encode(job.a.subspan(size_t{row} * job.n, size_t{m} * job.n), m);
      InFlight f{{}, next, row, m};
      const auto status = lease.invoke_async(kTileFunction, input, f.future, deadline);
      if (status == protocol::Status::kTooManyInFlight) break;  // the worker's limit: wait first
      if (status == protocol::Status::kPayloadTooLarge)
        throw ConfigError("a tile input of " + std::to_string(input.size()) +
                          " bytes exceeds the worker's payload limit; use a smaller --n or --tile");
      if (status != protocol::Status::kOk)
        throw Error("tile " + std::to_string(next) + " was not sent: " +
                    protocol::to_string(status));
      st.bytes_sent += input.size();
      pending.push_back(std::move(f));
      ++next;
      next_row += m;
    }
    if (pending.empty())
      throw Error("no tile could be sent (every worker connection reports its in-flight limit)");
    // The oldest tile first: a connection answers in order, and round-robin spreads the
    // pipeline evenly, so the oldest is the next due.
    InFlight& f = pending.front();
    client::InvocationResult& r = f.future.get(deadline);
    if (!r.ok())
      throw Error("offloaded tile at row " + std::to_string(f.row) + " failed: " +
                  r.error_message());
    check_tile_output(TileShape{f.m, job.n, job.n}, r.output.size());
    std::memcpy(job.c.data() + size_t{f.row} * job.n, r.output.data(), r.output.size());
    st.bytes_received += r.output.size();
    if (r.server.end_ns >= r.server.start_ns)
      st.worker_compute_s += static_cast<double>(r.server.end_ns - r.server.start_ns) / 1e9;
    ++st.tiles;
    pending.pop_front();
  }
  st.seconds = static_cast<double>(now_ns() - t0) / 1e9;
  return st;
}

}  // namespace hpcless::offload
