// The arithmetic of `hpcless experiment offload` (experiments/offload/offload_summary.hpp):
// accounting, per-fraction medians, speedup and ratios, the CSV, the fractions option and the
// result line of the MPI application.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "experiments/offload/offload_summary.hpp"

namespace eo = hpcless::experiments::offload;

namespace {

eo::OffloadRun run(double f, double tts, double wall, const std::string& lease = "",
                   int lease_cores = 0, double held = 0, uint64_t tiles = 0) {
  eo::OffloadRun r;
  r.fraction = f;
  r.ok = true;
  r.ranks = 2;
  r.time_to_solution_s = tts;
  r.wall_s = wall;
  r.lease = lease;
  r.lease_cores = lease_cores;
  r.lease_held_s = held;
  r.tiles_offloaded = tiles;
  eo::account(r);
  return r;
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST(OffloadAccounting, ChargesRanksForTheWallTimeAndLeasedCoresForTheHoldTime) {
  const eo::OffloadRun pure = run(0, 0.5, 1.0);
  EXPECT_DOUBLE_EQ(pure.mpi_core_s, 2.0);
  EXPECT_DOUBLE_EQ(pure.lease_core_s, 0.0);
  EXPECT_DOUBLE_EQ(pure.core_s, 2.0);
  EXPECT_DOUBLE_EQ(pure.solution_core_s, 1.0);  // 2 ranks x 0.5 s

  const eo::OffloadRun off = run(0.5, 0.25, 1.0, "L1", 3, 1.5, 8);
  EXPECT_DOUBLE_EQ(off.mpi_core_s, 2.0);
  EXPECT_DOUBLE_EQ(off.lease_core_s, 4.5);
  EXPECT_DOUBLE_EQ(off.core_s, 6.5);
  EXPECT_DOUBLE_EQ(off.solution_core_s, 1.25);  // (2 + 3) x 0.25 s
}

TEST(OffloadSummary, MediansSpeedupAndRatiosAgainstPureMpi) {
  std::vector<eo::OffloadRun> runs = {run(0, 1.0, 2.0), run(0, 3.0, 2.0), run(0, 2.0, 2.0),
                                      run(1, 0.5, 2.0, "L", 1, 3.0, 4),
                                      run(1, 0.4, 2.0, "L", 1, 3.0, 4)};
  eo::OffloadRun failed;
  failed.fraction = 1;
  failed.error = "boom";
  eo::account(failed);
  runs.push_back(failed);
  const auto rows = eo::summarize_runs(runs, {0, 1});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].runs, 3u);
  EXPECT_DOUBLE_EQ(rows[0].time_to_solution_s, 2.0);
  EXPECT_DOUBLE_EQ(rows[0].tts_min_s, 1.0);
  EXPECT_DOUBLE_EQ(rows[0].tts_max_s, 3.0);
  EXPECT_DOUBLE_EQ(*rows[0].speedup, 1.0);
  EXPECT_EQ(rows[1].runs, 2u);
  EXPECT_EQ(rows[1].failures, 1u);
  EXPECT_EQ(rows[1].tiles_offloaded, 4u);
  // Nearest-rank median of {0.4, 0.5} is 0.4.
  EXPECT_DOUBLE_EQ(rows[1].time_to_solution_s, 0.4);
  EXPECT_DOUBLE_EQ(*rows[1].speedup, 5.0);
  EXPECT_DOUBLE_EQ(rows[1].core_s, 4.0 + 3.0);
  EXPECT_DOUBLE_EQ(*rows[1].core_s_ratio, 7.0 / 4.0);
  ASSERT_TRUE(rows[1].solution_core_s_ratio.has_value());

  const std::string csv = eo::offload_summary_csv(rows);
  EXPECT_EQ(csv.rfind(std::string(eo::kOffloadSummaryHeader) + "\n", 0), 0u);
  EXPECT_EQ(count_lines(csv), 3u);
  EXPECT_NE(csv.find("\n1.0000,2,1,4,0.400000,"), std::string::npos) << csv;
  const std::string table = eo::format_offload_table(rows, "title");
  EXPECT_NE(table.find("speedup"), std::string::npos);
  EXPECT_NE(table.find("(1 failed)"), std::string::npos) << table;
  const std::string gp = eo::offload_gnuplot_script(rows, runs, "title");
  EXPECT_NE(gp.find("set output 'offload.png'"), std::string::npos);
  EXPECT_NE(gp.find("set output 'offload.svg'"), std::string::npos);
}

TEST(OffloadSummary, NoBaselineMeansNoSpeedupAndFailedFractionsStayVisible) {
  eo::OffloadRun failed;
  failed.fraction = 1;
  failed.error = "boom";
  const auto rows = eo::summarize_runs({run(0.5, 1.0, 2.0, "L", 1, 2.0, 2), failed}, {0.5, 1});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].speedup.has_value());
  EXPECT_EQ(rows[1].runs, 0u);
  EXPECT_EQ(rows[1].failures, 1u);
  const std::string csv = eo::offload_summary_csv(rows);
  EXPECT_NE(csv.find("\n1.0000,0,1,,,"), std::string::npos) << csv;
  EXPECT_NE(eo::format_offload_table(rows, "t").find("all 1 runs failed"), std::string::npos);
}

TEST(OffloadSummary, RunLineCarriesAccountingAndTheApplicationsLine) {
  eo::OffloadRun r = run(0.5, 0.25, 1.0, "L7", 1, 1.2, 3);
  r.app = {{"schema", "hpcless.offload.v1"}, {"n", 64}};
  const auto j = eo::run_to_json(r);
  EXPECT_EQ(j["schema"], "hpcless.offload.run.v1");
  EXPECT_EQ(j["lease"], "L7");
  EXPECT_DOUBLE_EQ(j["core_s"].get<double>(), 2.0 + 1.2);
  EXPECT_EQ(j["app"]["n"], 64);
  EXPECT_TRUE(j["error"].is_null());
}

TEST(OffloadOptions, FractionsParseAndRejectNonsense) {
  EXPECT_EQ(eo::parse_fractions("0,0.25,0.5,0.75,1"),
            (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(eo::parse_fractions("1,0,1"), (std::vector<double>{1, 0}));
  for (const char* bad : {"", "1.5", "-0.1", "0,,1", "a", "0.5x", "nan"})
    EXPECT_THROW(eo::parse_fractions(bad), hpcless::ConfigError) << bad;
}

TEST(OffloadOptions, FindsTheResultLineAmongOtherOutput) {
  const std::string out =
      "some mpirun banner\n{\"not\": \"ours\"}\n{broken json\n"
      "{\"schema\":\"hpcless.offload.v1\",\"time_to_solution_s\":0.5}\ntrailing\n";
  const auto j = eo::find_result_line(out);
  ASSERT_TRUE(j.has_value());
  EXPECT_DOUBLE_EQ((*j)["time_to_solution_s"].get<double>(), 0.5);
  EXPECT_FALSE(eo::find_result_line("nothing here\n").has_value());
}
