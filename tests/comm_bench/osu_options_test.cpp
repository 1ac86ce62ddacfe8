// The shared OSU loop's options, sizes and iteration counts (experiments/comm/osu/osu_bench.hpp).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/comm/osu/osu_bench.hpp"

namespace hpcless::osu {
namespace {

Options parse(std::vector<std::string> args) {
  Options o;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  const int argc = static_cast<int>(argv.size());
  for (int i = 0; i < argc;) {
    const int used = consume_option(argc, argv.data(), i, o);
    if (used == 0) throw std::invalid_argument("unexpected " + args[i]);
    i += used;
  }
  return o;
}

TEST(OsuOptions, SizesDoubleFromMinToMaxAndReductionsStartAtOneFloat) {
  Options o = parse({"--op", "bcast", "-m", "1:16"});
  EXPECT_EQ(message_sizes(o), (std::vector<size_t>{1, 2, 4, 8, 16}));
  o = parse({"--op", "allreduce", "-m", "1:16"});
  EXPECT_EQ(message_sizes(o), (std::vector<size_t>{4, 8, 16}));
  o = parse({"--op", "latency", "-m", "0:2"});
  EXPECT_EQ(message_sizes(o), (std::vector<size_t>{0, 1, 2}));
  o = parse({"--op", "gather", "-m", "4K"});  // max only, min stays 1
  EXPECT_EQ(message_sizes(o).size(), 13u);
  o = parse({"--op", "barrier"});
  EXPECT_EQ(message_sizes(o), (std::vector<size_t>{0}));
  o = parse({"--op", "reduce", "--sizes", "8,64K,4M,6"});
  EXPECT_EQ(message_sizes(o), (std::vector<size_t>{8, 65536, 4194304, 4}));
}

TEST(OsuOptions, IterationDefaultsFollowOsuAndFlagsOverrideBoth) {
  Options o = parse({"--op", "allreduce"});
  EXPECT_EQ(loop_for(o, 8192).iterations, 1000);
  EXPECT_EQ(loop_for(o, 8192).warmup, 100);
  EXPECT_EQ(loop_for(o, 8193).iterations, 100);
  EXPECT_EQ(loop_for(o, 8193).warmup, 10);
  o = parse({"--op", "latency"});
  EXPECT_EQ(loop_for(o, 1).iterations, 10000);
  EXPECT_EQ(loop_for(o, 1 << 20).iterations, 1000);
  o = parse({"--op", "bandwidth"});
  EXPECT_EQ(loop_for(o, 1).iterations, 100);
  EXPECT_EQ(loop_for(o, 1 << 20).warmup, 2);
  o = parse({"--op", "bcast", "-i", "7", "-x", "0"});
  EXPECT_EQ(loop_for(o, 1).iterations, 7);
  EXPECT_EQ(loop_for(o, 1 << 20).iterations, 7);
  EXPECT_EQ(loop_for(o, 1 << 20).warmup, 0);
}

TEST(OsuOptions, BadValuesAreRejected) {
  EXPECT_THROW(parse({"--op", "nope"}), std::invalid_argument);
  EXPECT_THROW(parse({"-m", "64:8"}), std::invalid_argument);
  EXPECT_THROW(parse({"-m", "x"}), std::invalid_argument);
  EXPECT_THROW(parse({"-i", "0"}), std::invalid_argument);
  EXPECT_THROW(parse({"-m", "2G"}), std::invalid_argument);
  EXPECT_THROW(parse({"-i"}), std::invalid_argument);
  EXPECT_EQ(check(parse({"--op", "latency"}), 4),
            "latency is a point-to-point test between two ranks: use 2 ranks");
  EXPECT_NE(check(parse({"--op", "allreduce", "-m", "1:2"}), 4), "");
  EXPECT_EQ(check(parse({"--op", "allreduce", "-m", "1:4"}), 4), "");
}

TEST(OsuOptions, ArgumentsRoundTrip) {
  const Options o = parse({"--op", "alltoall", "--sizes", "8,1K", "-i", "3", "-x", "1"});
  std::vector<std::string> args = to_args(o);
  const Options p = parse(args);
  EXPECT_EQ(p.op, Op::kAlltoall);
  EXPECT_EQ(p.sizes, o.sizes);
  EXPECT_EQ(p.iterations, 3);
  EXPECT_EQ(p.warmup, 1);
}

TEST(OsuOptions, BuffersHoldEveryRanksBlockWhereNeeded) {
  EXPECT_EQ(buffer_layout(Op::kGather, 10, 4, 0).recv, 40u);
  EXPECT_EQ(buffer_layout(Op::kGather, 10, 4, 1).recv, 0u);
  EXPECT_EQ(buffer_layout(Op::kScatter, 10, 4, 0).send, 40u);
  EXPECT_EQ(buffer_layout(Op::kAlltoall, 10, 4, 2).send, 40u);
  EXPECT_EQ(buffer_layout(Op::kAllgather, 10, 4, 2).recv, 40u);
  EXPECT_EQ(buffer_layout(Op::kBandwidth, 1, 2, 1).recv, 4u);  // room for the ack
}

}  // namespace
}  // namespace hpcless::osu
