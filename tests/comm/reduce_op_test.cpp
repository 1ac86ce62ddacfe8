// Reductions and tuning, without any communication: the built-in kernels on every type, user
// ops and their argument order, combine_left/right, wrap-around, algorithm names and overrides
// from the environment.
#include "comm/communicator/reduce_op.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/collectives/tuning.hpp"

namespace hpcless::comm {
namespace {

template <class T>
std::vector<T> apply(Op op, std::vector<T> in, std::vector<T> inout) {
  ReduceOp<T>(op).erased().apply(in.data(), inout.data(), in.size());
  return inout;
}

template <class T>
void check_builtins() {
  const std::vector<T> a = {T(1), T(-2), T(5), T(0)};
  const std::vector<T> b = {T(3), T(4), T(-6), T(0)};
  EXPECT_EQ(apply(Op::kSum, a, b), (std::vector<T>{T(4), T(2), T(-1), T(0)}));
  EXPECT_EQ(apply(Op::kProd, a, b), (std::vector<T>{T(3), T(-8), T(-30), T(0)}));
  EXPECT_EQ(apply(Op::kMin, a, b), (std::vector<T>{T(1), T(-2), T(-6), T(0)}));
  EXPECT_EQ(apply(Op::kMax, a, b), (std::vector<T>{T(3), T(4), T(5), T(0)}));
  EXPECT_EQ(ReduceOp<T>(Op::kSum).erased().elem_size, sizeof(T));
  EXPECT_TRUE(ReduceOp<T>(Op::kMax).commutative());
}

TEST(ReduceOp, BuiltinsOnEveryType) {
  check_builtins<int32_t>();
  check_builtins<int64_t>();
  check_builtins<float>();
  check_builtins<double>();
}

TEST(ReduceOp, IntegerSumsAndProductsWrapInsteadOfOverflowing) {
  const int32_t max = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(apply<int32_t>(Op::kSum, {max}, {1}),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(apply<int64_t>(Op::kProd, {int64_t{1} << 62}, {4}), (std::vector<int64_t>{0}));
}

TEST(ReduceOp, UserOpSeesTheLowerRanksOperandAsInput) {
  // String-like concatenation on digits: inout = in * 10 + inout keeps the order visible.
  auto op = ReduceOp<int64_t>::custom(
      [](std::span<const int64_t> in, std::span<int64_t> inout) {
        for (size_t i = 0; i < in.size(); ++i) inout[i] = in[i] * 10 + inout[i];
      },
      false);
  EXPECT_FALSE(op.commutative());
  const Reduction& r = op.erased();
  int64_t left = 1, acc = 2;
  r.combine_left(&left, &acc, 1);  // acc = left (op) acc
  EXPECT_EQ(acc, 12);
  int64_t right = 3;
  r.combine_right(&right, &acc, 1);  // acc = acc (op) right
  EXPECT_EQ(acc, 123);
}

TEST(Tuning, AlgorithmNamesRoundTripAndBadNamesAreRejected) {
  for (auto a : {Algorithm::kAuto, Algorithm::kBinomial, Algorithm::kPipeline, Algorithm::kRing,
                 Algorithm::kRabenseifner, Algorithm::kRecursiveDoubling})
    EXPECT_EQ(parse_algorithm(algorithm_name(a)), a);
  EXPECT_THROW(parse_algorithm("fastest"), ConfigError);
}

TEST(Tuning, EnvironmentOverridesDefaults) {
  ::setenv("HPCLESS_COMM_ALLREDUCE_ALGO", "ring", 1);
  ::setenv("HPCLESS_COMM_BCAST_SEGMENT_BYTES", "4096", 1);
  const CollectiveTuning t = CollectiveTuning::from_env();
  EXPECT_EQ(t.allreduce, Algorithm::kRing);
  EXPECT_EQ(t.bcast_segment_bytes, 4096u);
  EXPECT_NE(t.describe().find("allreduce=ring"), std::string::npos);
  ::setenv("HPCLESS_COMM_BCAST_SEGMENT_BYTES", "lots", 1);
  EXPECT_THROW(CollectiveTuning::from_env(), ConfigError);
  ::unsetenv("HPCLESS_COMM_ALLREDUCE_ALGO");
  ::unsetenv("HPCLESS_COMM_BCAST_SEGMENT_BYTES");
}

}  // namespace
}  // namespace hpcless::comm
