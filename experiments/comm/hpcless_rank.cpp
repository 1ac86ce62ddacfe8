#include "experiments/comm/hpcless_rank.hpp"

#include <cstdio>
#include <memory>
#include <span>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/tcp_store.hpp"

namespace hpcless::experiments::comm_bench {

namespace {

using std::byte;

// The OSU backend over a Communicator. Every call has the communicator's default deadline
// (CommOptions::timeout).
class HpclessBackend {
 public:
  explicit HpclessBackend(comm::Communicator& c) : c_(c) {}

  int rank() const { return c_.rank(); }
  int size() const { return c_.size(); }
  void barrier() { c_.barrier(); }

  void collective(osu::Op op, void* send, void* recv, size_t bytes) {
    const size_t n = static_cast<size_t>(c_.size());
    const bool root = c_.rank() == 0;
    auto* s = static_cast<byte*>(send);
    auto* r = static_cast<byte*>(recv);
    const size_t floats = bytes / sizeof(float);
    switch (op) {
      case osu::Op::kBarrier:
        c_.barrier();
        break;
      case osu::Op::kBcast:
        c_.bcast(std::span<byte>(s, bytes), 0);
        break;
      case osu::Op::kReduce:
        c_.reduce(std::span<const float>(static_cast<const float*>(send), floats),
                  std::span<float>(static_cast<float*>(recv), floats), comm::Op::kSum, 0);
        break;
      case osu::Op::kAllreduce:
        c_.allreduce(std::span<const float>(static_cast<const float*>(send), floats),
                     std::span<float>(static_cast<float*>(recv), floats), comm::Op::kSum);
        break;
      case osu::Op::kGather:
        c_.gather(std::span<const byte>(s, bytes), std::span<byte>(r, root ? n * bytes : 0), 0);
        break;
      case osu::Op::kScatter:
        c_.scatter(std::span<const byte>(s, root ? n * bytes : 0), std::span<byte>(r, bytes), 0);
        break;
      case osu::Op::kAllgather:
        c_.allgather(std::span<const byte>(s, bytes), std::span<byte>(r, n * bytes));
        break;
      case osu::Op::kAlltoall:
        c_.alltoall(std::span<const byte>(s, n * bytes), std::span<byte>(r, n * bytes));
        break;
      default:
        throw ConfigError(std::string(osu::op_name(op)) + " is not a collective");
    }
  }

  void send(int peer, const void* p, size_t bytes) {
    c_.send(std::span<const byte>(static_cast<const byte*>(p), bytes), peer, kTag);
  }
  void recv(int peer, void* p, size_t bytes) {
    c_.recv(std::span<byte>(static_cast<byte*>(p), bytes), peer, kTag);
  }
  void send_window(int peer, const void* p, size_t bytes, int window) {
    const std::span<const byte> buf(static_cast<const byte*>(p), bytes);
    reqs_.clear();
    for (int i = 0; i < window; ++i) reqs_.push_back(c_.isend(buf, peer, kTag));
    comm::Request::wait_all(reqs_);
  }
  void recv_window(int peer, void* p, size_t bytes, int window) {
    const std::span<byte> buf(static_cast<byte*>(p), bytes);
    reqs_.clear();
    for (int i = 0; i < window; ++i) reqs_.push_back(c_.irecv(buf, peer, kTag));
    comm::Request::wait_all(reqs_);
  }

  std::vector<double> gather_double(double v) {
    std::vector<double> all(c_.rank() == 0 ? static_cast<size_t>(c_.size()) : 0);
    c_.gather(std::span<const double>(&v, 1), all, 0);
    return all;
  }

 private:
  static constexpr int kTag = 1;
  comm::Communicator& c_;
  std::vector<comm::Request> reqs_;
};

}  // namespace

std::string hpcless_system_label(const ChannelSettings& s) {
  std::string label = "hpcless-" + s.channel;
  if ((s.channel == "direct" || s.channel == "direct-rdma") && s.spin.count() > 0) label += "-spin";
  return label;
}

int run_hpcless_rank(const RankConfig& cfg) {
  try {
    auto store =
        std::make_shared<rendezvous::TcpStore>(tcp::parse_endpoint(cfg.store), cfg.channel.timeout);
    comm::Communicator c(cfg.rank, cfg.size, cfg.group, store, comm_options_for(cfg.channel));
    HpclessBackend backend(c);
    osu::run(backend, cfg.bench, hpcless_system_label(cfg.channel), stdout);
    return kRankOk;
  } catch (const IoError& e) {
    std::fprintf(stderr, "hpcless comm-bench: rank %d: %s\n", cfg.rank, e.what());
    return kRankCommError;
  } catch (const TimeoutError& e) {
    std::fprintf(stderr, "hpcless comm-bench: rank %d: %s\n", cfg.rank, e.what());
    return kRankCommError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hpcless comm-bench: rank %d: %s\n", cfg.rank, e.what());
    return kRankFailed;
  }
}

}  // namespace hpcless::experiments::comm_bench
