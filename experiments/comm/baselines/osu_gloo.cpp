// hpcless-comm-bench-gloo: the OSU loop of `hpcless comm-bench` (osu/osu_bench.hpp) over Gloo's
// TCP transport on loopback, one process per rank, started by `hpcless comm-bench --system gloo`.
// Ranks meet through the launcher's TCP rendezvous store (gloo_store.hpp).
//
//   hpcless-comm-bench-gloo --rank R --size N --store HOST:PORT [--timeout-ms MS] [--label L]
//                           --op OP [-m MIN:MAX] [--sizes ...] [-i N] [-x N] [-W N] [--csv F]
//
// Exit codes as the hpcless ranks: 0 ok, 3 a peer failed or a deadline passed, 1 otherwise.
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoall.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/gather.h>
#include <gloo/math.h>
#include <gloo/reduce.h>
#include <gloo/rendezvous/context.h>
#include <gloo/scatter.h>
#include <gloo/transport/tcp/device.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/rendezvous/tcp_store.hpp"
#include "experiments/comm/baselines/gloo_store.hpp"
#include "experiments/comm/osu/osu_bench.hpp"

namespace {

using hpcless::osu::Op;
using ReduceFn = void (*)(void*, const void*, const void*, size_t);

class GlooBackend {
 public:
  GlooBackend(std::shared_ptr<gloo::Context> ctx, std::chrono::milliseconds timeout)
      : ctx_(std::move(ctx)), timeout_(timeout) {}

  int rank() const { return ctx_->rank; }
  int size() const { return ctx_->size; }
  void barrier() {
    gloo::BarrierOptions o(ctx_);
    o.setTimeout(timeout_);
    gloo::barrier(o);
  }

  void collective(Op op, void* send, void* recv, size_t bytes) {
    const size_t n = static_cast<size_t>(ctx_->size);
    const bool root = ctx_->rank == 0;
    char* s = static_cast<char*>(send);
    char* r = static_cast<char*>(recv);
    const size_t floats = bytes / sizeof(float);
    switch (op) {
      case Op::kBarrier:
        barrier();
        break;
      case Op::kBcast: {
        gloo::BroadcastOptions o(ctx_);
        o.setOutput<char>(s, bytes);
        o.setRoot(0);
        o.setTimeout(timeout_);
        gloo::broadcast(o);
        break;
      }
      case Op::kReduce: {
        gloo::ReduceOptions o(ctx_);
        o.setInput<float>(static_cast<float*>(send), floats);
        o.setOutput<float>(static_cast<float*>(recv), floats);  // scratch on non-roots
        o.setRoot(0);
        o.setReduceFunction(static_cast<ReduceFn>(&gloo::sum<float>));
        o.setTimeout(timeout_);
        gloo::reduce(o);
        break;
      }
      case Op::kAllreduce: {
        gloo::AllreduceOptions o(ctx_);
        o.setInput<float>(static_cast<float*>(send), floats);
        o.setOutput<float>(static_cast<float*>(recv), floats);
        o.setReduceFunction(static_cast<ReduceFn>(&gloo::sum<float>));
        o.setTimeout(timeout_);
        gloo::allreduce(o);
        break;
      }
      case Op::kGather: {
        gloo::GatherOptions o(ctx_);
        o.setInput<char>(s, bytes);
        if (root) o.setOutput<char>(r, n * bytes);
        o.setRoot(0);
        o.setTimeout(timeout_);
        gloo::gather(o);
        break;
      }
      case Op::kScatter: {
        gloo::ScatterOptions o(ctx_);
        if (root) {
          std::vector<char*> blocks(n);
          for (size_t i = 0; i < n; ++i) blocks[i] = s + i * bytes;
          o.setInputs<char>(blocks, bytes);
        }
        o.setOutput<char>(r, bytes);
        o.setRoot(0);
        o.setTimeout(timeout_);
        gloo::scatter(o);
        break;
      }
      case Op::kAllgather: {
        gloo::AllgatherOptions o(ctx_);
        o.setInput<char>(s, bytes);
        o.setOutput<char>(r, n * bytes);
        o.setTimeout(timeout_);
        gloo::allgather(o);
        break;
      }
      case Op::kAlltoall: {
        gloo::AlltoallOptions o(ctx_);
        o.setInput<char>(s, n * bytes);
        o.setOutput<char>(r, n * bytes);
        o.setTimeout(timeout_);
        gloo::alltoall(o);
        break;
      }
      default:
        throw std::invalid_argument("not a collective");
    }
  }

  void send(int peer, const void* p, size_t bytes) {
    auto buf = ctx_->createUnboundBuffer(const_cast<void*>(p), bytes);
    buf->send(peer, kSlot);
    wait_send(*buf, 1);
  }
  void recv(int peer, void* p, size_t bytes) {
    auto buf = ctx_->createUnboundBuffer(p, bytes);
    buf->recv(peer, kSlot);
    wait_recv(*buf, 1);
  }
  void send_window(int peer, const void* p, size_t bytes, int window) {
    auto buf = ctx_->createUnboundBuffer(const_cast<void*>(p), bytes);
    for (int i = 0; i < window; ++i) buf->send(peer, kSlot);
    wait_send(*buf, window);
  }
  void recv_window(int peer, void* p, size_t bytes, int window) {
    auto buf = ctx_->createUnboundBuffer(p, bytes);
    for (int i = 0; i < window; ++i) buf->recv(peer, kSlot);
    wait_recv(*buf, window);
  }

  std::vector<double> gather_double(double v) {
    std::vector<double> all(ctx_->rank == 0 ? static_cast<size_t>(ctx_->size) : 0);
    gloo::GatherOptions o(ctx_);
    o.setInput<double>(&v, 1);
    if (ctx_->rank == 0) o.setOutput<double>(all.data(), all.size());
    o.setRoot(0);
    o.setTimeout(timeout_);
    gloo::gather(o);
    return all;
  }

 private:
  void wait_send(gloo::transport::UnboundBuffer& b, int n) {
    for (int i = 0; i < n; ++i)
      if (!b.waitSend(timeout_)) throw hpcless::IoError("gloo send aborted");
  }
  void wait_recv(gloo::transport::UnboundBuffer& b, int n) {
    for (int i = 0; i < n; ++i)
      if (!b.waitRecv(timeout_)) throw hpcless::IoError("gloo receive aborted");
  }

  static constexpr uint64_t kSlot = 1000;  // point-to-point; collectives use prefixed slots
  std::shared_ptr<gloo::Context> ctx_;
  std::chrono::milliseconds timeout_;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "hpcless-comm-bench-gloo: %s\nusage: hpcless-comm-bench-gloo --rank R --size N "
               "--store HOST:PORT [--timeout-ms MS] [--label L] --op OP [-m MIN:MAX] "
               "[--sizes A,B] [-i N] [-x N] [-W N] [--csv FILE]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  hpcless::osu::Options o;
  int rank = -1, size = 0;
  std::string store_addr, label = "gloo";
  std::chrono::milliseconds timeout{60'000};
  try {
    for (int i = 1; i < argc;) {
      const int used = hpcless::osu::consume_option(argc, argv, i, o);
      if (used > 0) {
        i += used;
        continue;
      }
      const std::string k = argv[i];
      if (i + 1 >= argc) usage("missing value for " + k);
      const std::string v = argv[i + 1];
      if (k == "--rank")
        rank = hpcless::osu::parse_count(v, "rank", 0);
      else if (k == "--size")
        size = hpcless::osu::parse_count(v, "size", 1);
      else if (k == "--store")
        store_addr = v;
      else if (k == "--timeout-ms")
        timeout = std::chrono::milliseconds(hpcless::osu::parse_count(v, "timeout", 1));
      else if (k == "--label")
        label = v;
      else
        usage("unknown argument '" + k + "'");
      i += 2;
    }
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  }
  if (rank < 0 || size < 1 || rank >= size || store_addr.empty())
    usage("--rank, --size (rank < size) and --store are required");

  try {
    auto tcp_store = std::make_shared<hpcless::rendezvous::TcpStore>(
        hpcless::tcp::parse_endpoint(store_addr), timeout);
    hpcless::experiments::comm_bench::GlooStore store(tcp_store, timeout);
    gloo::transport::tcp::attr attr;
    attr.hostname = "127.0.0.1";
    attr.ai_family = AF_INET;
    auto dev = gloo::transport::tcp::CreateDevice(attr);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
    ctx->setTimeout(timeout);
    ctx->connectFullMesh(store, dev);
    GlooBackend b(ctx, timeout);
    hpcless::osu::run(b, o, label, stdout);
    return 0;
  } catch (const gloo::IoException& e) {
    std::fprintf(stderr, "hpcless-comm-bench-gloo: rank %d: %s\n", rank, e.what());
    return 3;
  } catch (const hpcless::IoError& e) {
    std::fprintf(stderr, "hpcless-comm-bench-gloo: rank %d: %s\n", rank, e.what());
    return 3;
  } catch (const hpcless::TimeoutError& e) {
    std::fprintf(stderr, "hpcless-comm-bench-gloo: rank %d: %s\n", rank, e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless-comm-bench-gloo: rank %d: %s\n", rank, e.what());
    return 1;
  }
}
