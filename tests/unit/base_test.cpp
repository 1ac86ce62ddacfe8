// Unit tests of comm/base: core lists, deadlines, UniqueFd, the exception hierarchy and
// HPCLESS_CHECK.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "comm/base/clock.hpp"
#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"

namespace hpcless {
namespace {

using namespace std::chrono_literals;

// ---- parse_core_list ----

TEST(ParseCoreList, Single) { EXPECT_EQ(parse_core_list("0"), std::vector<int>({0})); }

TEST(ParseCoreList, Range) { EXPECT_EQ(parse_core_list("0-3"), std::vector<int>({0, 1, 2, 3})); }

TEST(ParseCoreList, RangeOfOne) { EXPECT_EQ(parse_core_list("5-5"), std::vector<int>({5})); }

TEST(ParseCoreList, MixedRangesAndSingles) {
  EXPECT_EQ(parse_core_list("0-3,6,8-9"), std::vector<int>({0, 1, 2, 3, 6, 8, 9}));
  EXPECT_EQ(parse_core_list("7,2"), std::vector<int>({7, 2}));  // order is kept
}

TEST(ParseCoreList, HighestCoreAccepted) {
  const auto cores = parse_core_list("1020-1023");
  EXPECT_EQ(cores, std::vector<int>({1020, 1021, 1022, 1023}));
}

TEST(ParseCoreList, MalformedThrowsConfigError) {
  const char* bad[] = {"",     ",",      "0,",    ",0",  "0,,1", "a",           "1-",
                       "-1",   "3-1",    "1-2-3", " 1",  "1 ",   "1;2",         "0x1",
                       "1024", "0-1024", "+1",    "1.5", "-",    "99999999999", "1,b"};
  for (const char* text : bad) {
    EXPECT_THROW(parse_core_list(text), ConfigError) << "input '" << text << "'";
  }
}

TEST(ParseCoreList, ErrorMessageQuotesInput) {
  try {
    parse_core_list("0-2,x");
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("0-2,x"), std::string::npos) << e.what();
  }
}

TEST(UsableCoreCount, AtLeastOne) { EXPECT_GE(usable_core_count(), 1); }

// ---- now_ns / Deadline ----

TEST(Clock, NowIsMonotonic) {
  uint64_t prev = now_ns();
  for (int i = 0; i < 1000; ++i) {
    const uint64_t t = now_ns();
    ASSERT_GE(t, prev);
    prev = t;
  }
  EXPECT_GT(prev, 0u);
}

TEST(Deadline, NeverNeverExpires) {
  const Deadline d = Deadline::never();
  EXPECT_TRUE(d.is_never());
  EXPECT_FALSE(d.expired());
  EXPECT_FALSE(d.expired(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(d.remaining_ms(), -1);
  EXPECT_EQ(d.ns(), std::numeric_limits<uint64_t>::max());
}

TEST(Deadline, AfterIsInTheFuture) {
  const uint64_t before = now_ns();
  const Deadline d = Deadline::after(10s);
  const uint64_t after = now_ns();
  EXPECT_FALSE(d.is_never());
  EXPECT_FALSE(d.expired());
  EXPECT_GE(d.ns(), before + 10'000'000'000ull);
  EXPECT_LE(d.ns(), after + 10'000'000'000ull);
  const int ms = d.remaining_ms();
  EXPECT_GT(ms, 9'000);
  EXPECT_LE(ms, 10'000);
}

TEST(Deadline, ExpiredAtExplicitTimes) {
  const Deadline d = Deadline::at_ns(1'000);
  EXPECT_FALSE(d.expired(0));
  EXPECT_FALSE(d.expired(999));
  EXPECT_TRUE(d.expired(1'000));
  EXPECT_TRUE(d.expired(1'001));
  EXPECT_TRUE(d.expired());  // 1 us after boot is long past
  EXPECT_EQ(d.remaining_ms(), 0);
}

TEST(Deadline, ZeroDurationExpiresImmediately) {
  const Deadline d = Deadline::after(0ms);
  EXPECT_TRUE(d.expired());
  EXPECT_EQ(d.remaining_ms(), 0);
}

TEST(Deadline, RemainingMsRoundsUp) {
  // 1.5 ms left must not round down to 1 (a poll() would return early); a slow machine may have
  // used some of it already, so accept anything that never exceeds the rounded-up value.
  const Deadline d = Deadline::at_ns(now_ns() + 1'500'000);
  const int ms = d.remaining_ms();
  EXPECT_LE(ms, 2);
  EXPECT_GE(ms, 0);
  const Deadline tiny = Deadline::at_ns(now_ns() + 1'000'000'000);  // 1 s
  EXPECT_GE(tiny.remaining_ms(), 900);
  EXPECT_LE(tiny.remaining_ms(), 1'000);
}

TEST(Deadline, RemainingMsIsClampedForPoll) {
  // Far-away deadlines must still fit in poll()'s int argument.
  const Deadline d = Deadline::at_ns(now_ns() + 4'000'000'000'000'000'000ull);
  EXPECT_EQ(d.remaining_ms(), 1'000'000'000);
  EXPECT_FALSE(d.expired());
}

// ---- UniqueFd ----

bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  int fds[2] = {-1, -1};
};

TEST(UniqueFd, DefaultIsInvalid) {
  UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(static_cast<bool>(fd));
  EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
  Pipe p;
  {
    UniqueFd r(p.fds[0]);
    UniqueFd w(p.fds[1]);
    EXPECT_TRUE(r.valid());
    EXPECT_EQ(r.get(), p.fds[0]);
    EXPECT_TRUE(fd_is_open(p.fds[0]));
  }
  EXPECT_FALSE(fd_is_open(p.fds[0]));
  EXPECT_FALSE(fd_is_open(p.fds[1]));
}

TEST(UniqueFd, MoveConstructTransfersOwnership) {
  Pipe p;
  UniqueFd w(p.fds[1]);
  UniqueFd a(p.fds[0]);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(b.get(), p.fds[0]);
  a.reset();  // must not close what b owns
  EXPECT_TRUE(fd_is_open(p.fds[0]));
}

TEST(UniqueFd, MovedFromDestructorDoesNotCloseAReusedNumber) {
  // The real hazard of a double close: the number gets reused by an unrelated descriptor, which
  // the stale owner would then close.
  Pipe p;
  UniqueFd w(p.fds[1]);
  const int number = p.fds[0];
  UniqueFd b;
  {
    UniqueFd a(number);
    b = std::move(a);
    b.reset();  // closes `number` once
    ASSERT_FALSE(fd_is_open(number));
    ASSERT_EQ(dup2(p.fds[1], number), number);  // an unrelated descriptor now has that number
    b.reset(number);
  }  // `a` is destroyed here and must not close anything
  EXPECT_TRUE(fd_is_open(b.get()));
}

TEST(UniqueFd, MoveAssignClosesPreviousTarget) {
  Pipe p;
  UniqueFd r(p.fds[0]);
  UniqueFd w(p.fds[1]);
  r = std::move(w);
  EXPECT_FALSE(fd_is_open(p.fds[0]));
  EXPECT_EQ(r.get(), p.fds[1]);
  EXPECT_FALSE(w.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(fd_is_open(p.fds[1]));
}

TEST(UniqueFd, SelfMoveAssignKeepsDescriptor) {
  Pipe p;
  UniqueFd w(p.fds[1]);
  UniqueFd r(p.fds[0]);
  UniqueFd& alias = r;  // an alias avoids the compiler's self-move warning
  r = std::move(alias);
  EXPECT_EQ(r.get(), p.fds[0]);
  EXPECT_TRUE(fd_is_open(p.fds[0]));
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
  Pipe p;
  UniqueFd w(p.fds[1]);
  int raw = -1;
  {
    UniqueFd r(p.fds[0]);
    raw = r.release();
    EXPECT_FALSE(r.valid());
  }
  EXPECT_EQ(raw, p.fds[0]);
  EXPECT_TRUE(fd_is_open(raw));
  EXPECT_EQ(::close(raw), 0);
}

TEST(UniqueFd, ResetClosesOldAndAdoptsNew) {
  Pipe p;
  UniqueFd fd(p.fds[0]);
  fd.reset(p.fds[1]);
  EXPECT_FALSE(fd_is_open(p.fds[0]));
  EXPECT_EQ(fd.get(), p.fds[1]);
  fd.reset();
  EXPECT_FALSE(fd_is_open(p.fds[1]));
  EXPECT_FALSE(fd.valid());
}

// ---- errors ----

static_assert(std::is_base_of_v<std::runtime_error, Error>);
static_assert(std::is_base_of_v<Error, ConfigError>);
static_assert(std::is_base_of_v<Error, SystemError>);
static_assert(std::is_base_of_v<Error, IoError>);
static_assert(std::is_base_of_v<Error, ProtocolError>);
static_assert(std::is_base_of_v<Error, TimeoutError>);

TEST(Error, SystemErrorCarriesErrnoAndText) {
  try {
    throw_system_error("opening /nonexistent", ENOENT);
    FAIL() << "no exception";
  } catch (const SystemError& e) {
    EXPECT_EQ(e.error_code(), ENOENT);
    EXPECT_EQ(std::string(e.what()), std::string("opening /nonexistent: ") + std::strerror(ENOENT));
  }
}

TEST(Error, ThrowSystemErrorUsesErrno) {
  errno = EACCES;
  try {
    throw_system_error("bind");
    FAIL() << "no exception";
  } catch (const SystemError& e) {
    EXPECT_EQ(e.error_code(), EACCES);
    EXPECT_NE(std::string(e.what()).find("bind: "), std::string::npos);
  }
}

TEST(Check, PassingCheckDoesNothingAndEvaluatesOnce) {
  int evaluations = 0;
  EXPECT_NO_THROW(HPCLESS_CHECK(++evaluations == 1, "never shown"));
  EXPECT_EQ(evaluations, 1);
}

TEST(Check, FailingCheckThrowsErrorWithFileAndLine) {
  int line = 0;
  try {
    line = __LINE__ + 1;
    HPCLESS_CHECK(1 + 1 == 3, "arithmetic is broken");
    FAIL() << "no exception";
  } catch (const ConfigError&) {
    FAIL() << "a failed check is an internal error, not a config error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("arithmetic is broken"), std::string::npos) << what;
    EXPECT_NE(what.find("1 + 1 == 3"), std::string::npos) << what;
    EXPECT_NE(what.find(std::string(__FILE__) + ":" + std::to_string(line)), std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace hpcless
