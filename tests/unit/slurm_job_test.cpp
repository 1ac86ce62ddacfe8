// Reading Slurm's answers: time formats and squeue lines (executor/slurm/slurm_job.hpp).
#include <gtest/gtest.h>

#include <ctime>

#include "executor/slurm/slurm_job.hpp"

namespace hpcless::executor {
namespace {

TEST(SlurmDuration, ParsesEverySqueueForm) {
  EXPECT_EQ(parse_slurm_duration_s("45"), 45);
  EXPECT_EQ(parse_slurm_duration_s("3:00"), 180);
  EXPECT_EQ(parse_slurm_duration_s("1:02:03"), 3723);
  EXPECT_EQ(parse_slurm_duration_s("2-00:00:01"), 2 * 86400 + 1);
  EXPECT_EQ(parse_slurm_duration_s("0:00"), 0);
}

TEST(SlurmDuration, RejectsWhatIsNotATime) {
  for (const char* s : {"", "UNLIMITED", "NOT_SET", "INVALID", "1:2:3:4", "-5", "1-", "a:00",
                        "1::00", "99999999999"})
    EXPECT_FALSE(parse_slurm_duration_s(s)) << s;
}

TEST(SlurmTime, ParsesLocalTimeAndRejectsTheRest) {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 5;
  tm.tm_hour = 23;
  tm.tm_min = 34;
  tm.tm_sec = 58;
  tm.tm_isdst = -1;
  EXPECT_EQ(parse_slurm_time_ms("2026-12-05T23:34:58"), static_cast<int64_t>(mktime(&tm)) * 1000);
  for (const char* s : {"N/A", "Unknown", "", "2026-12-05", "2026-12-05T23:34:58x"})
    EXPECT_FALSE(parse_slurm_time_ms(s)) << s;
}

TEST(SqueueLine, EndFromTheEndTimeElseFromTimeLeft) {
  const auto a = parse_squeue_line("RUNNING|N/A|3:00\n", 1'000'000);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, "RUNNING");
  EXPECT_EQ(a->end_ms, 1'000'000 + 180'000);
  const auto b = parse_squeue_line("RUNNING|NONE|UNLIMITED", 5);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->end_ms, 0);  // no end
  const auto c = parse_squeue_line("COMPLETING|2026-12-05T23:34:58|0:00", 5);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->end_ms, *parse_slurm_time_ms("2026-12-05T23:34:58"));
}

TEST(SqueueLine, RejectsMalformedLines) {
  for (const char* s : {"", "RUNNING", "RUNNING|x", "|a|b", "A|B|C|D"})
    EXPECT_FALSE(parse_squeue_line(s, 0)) << s;
}

}  // namespace
}  // namespace hpcless::executor
