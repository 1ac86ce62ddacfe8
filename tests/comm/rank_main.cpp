// comm_test_rank: one rank of a multi-process test. The test starts one per rank.
//   comm_test_rank --store HOST:PORT --group NAME --rank R --size P --scenario S [--timeout-ms N]
//                  [--channel direct|direct-rdma]   (direct-rdma: $HPCLESS_RDMA_ADDRESS)
// Scenarios:
//   battery         every collective checked (tests/comm/support/battery.hpp)
//   allreduce_loop  publishes "ready/<rank>" after the first allreduce, then loops until an error
//   two_comms       two communicators used interleaved (and checked)
// Exit codes: 0 success, 1 wrong result, 2 usage, 3 communication error (IoError/TimeoutError;
// prints "COMM-ERROR <kind> after <ms> ms: <message>"), 4 any other error.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/tcp_store.hpp"
#include "tests/comm/support/battery.hpp"

using namespace hpcless;
using namespace hpcless::comm;

namespace {

struct Args {
  std::string store, group, scenario, channel = "direct";
  int rank = -1, size = 0;
  int timeout_ms = 20'000;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--store")
      a.store = v;
    else if (k == "--group")
      a.group = v;
    else if (k == "--scenario")
      a.scenario = v;
    else if (k == "--channel")
      a.channel = v;
    else if (k == "--rank")
      a.rank = std::atoi(v);
    else if (k == "--size")
      a.size = std::atoi(v);
    else if (k == "--timeout-ms")
      a.timeout_ms = std::atoi(v);
  }
  return a;
}

void two_comms(Communicator& a, Communicator& b) {
  const int p = a.size(), me = a.rank();
  for (int it = 0; it < 20; ++it) {
    // A ring exchange on a, an allreduce on b in between, then the receive on a.
    std::vector<int32_t> out(100, me * 1000 + it), in(100, -1);
    Request r = a.irecv(in, (me - 1 + p) % p, it);
    Request s = a.isend(out, (me + 1) % p, it);
    std::vector<int64_t> v(64, me + it), w(64);
    b.allreduce(v, w, Op::kSum);
    for (auto x : w)
      if (x != int64_t{p} * (p - 1) / 2 + int64_t{p} * it)
        throw std::runtime_error("two_comms: wrong allreduce on b");
    r.wait();
    s.wait();
    for (auto x : in)
      if (x != ((me - 1 + p) % p) * 1000 + it)
        throw std::runtime_error("two_comms: wrong message on a");
    a.barrier();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.store.empty() || args.group.empty() || args.scenario.empty() || args.size < 1) {
    std::fprintf(
        stderr,
        "usage: comm_test_rank --store HOST:PORT --group NAME --rank R --size P --scenario S\n");
    return 2;
  }
  const uint64_t start = now_ns();
  try {
    auto store = std::make_shared<rendezvous::TcpStore>(tcp::parse_endpoint(args.store));
    CommOptions o;
    o.timeout = std::chrono::milliseconds(args.timeout_ms);
    o.direct.connect_timeout = std::chrono::seconds(20);
    o.tuning = CollectiveTuning{};
    const auto kind = channel_kind_from_string(args.channel);
    if (!kind) {
      std::fprintf(stderr, "unknown channel %s\n", args.channel.c_str());
      return 2;
    }
    o.channel = *kind;
    if (const char* rdma = std::getenv("HPCLESS_RDMA_ADDRESS")) o.direct.rdma_address = rdma;
    Communicator c(args.rank, args.size, args.group, store, o);
    if (args.scenario == "battery") {
      testing::BatteryOptions bo;
      bo.large_elems = 100'001;
      testing::run_collective_battery(c, bo);
    } else if (args.scenario == "allreduce_loop") {
      std::vector<float> in(256 * 1024, 1.0f), out(in.size());
      for (long it = 0;; ++it) {
        c.allreduce(in, out, Op::kSum);
        if (out[0] != static_cast<float>(args.size))
          throw std::runtime_error("allreduce_loop: wrong sum");
        if (it == 0) store->set_string("ready/" + std::to_string(args.rank), "1");
      }
    } else if (args.scenario == "two_comms") {
      Communicator b(args.rank, args.size, args.group + "-b", store, o);
      two_comms(c, b);
    } else {
      std::fprintf(stderr, "unknown scenario %s\n", args.scenario.c_str());
      return 2;
    }
    return 0;
  } catch (const TimeoutError& e) {
    std::printf("COMM-ERROR TimeoutError after %llu ms: %s\n",
                static_cast<unsigned long long>((now_ns() - start) / 1'000'000), e.what());
    return 3;
  } catch (const IoError& e) {
    std::printf("COMM-ERROR IoError after %llu ms: %s\n",
                static_cast<unsigned long long>((now_ns() - start) / 1'000'000), e.what());
    return 3;
  } catch (const Error& e) {
    std::printf("ERROR %s\n", e.what());
    return 4;
  } catch (const std::exception& e) {
    std::printf("CHECK-FAILED %s\n", e.what());
    return 1;
  }
}
