// The benchmark registry, size classes, the client-side validators of the storage and web
// benchmarks (on hand-made outputs, correct and corrupted), and the runner's records/summary.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "experiments/bench/bench_records.hpp"
#include "experiments/bench/bench_runner.hpp"
#include "experiments/bench/phase_plot.hpp"
#include "functions/110.dynamic-html/page.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"
#include "functions/bench/det_rng.hpp"

namespace hpcless::bench {
namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(SizeClass, ParsesAndPrints) {
  for (auto s : {SizeClass::kTest, SizeClass::kSmall, SizeClass::kLarge})
    EXPECT_EQ(parse_size_class(to_string(s)), s);
  EXPECT_THROW(parse_size_class("medium"), ConfigError);
  EXPECT_THROW(parse_size_class(""), ConfigError);
}

TEST(Registry, HoldsTheStorageAndWebBenchmarks) {
  const Registry& r = all_benchmarks();
  for (const char* name : {"010.sleep", "110.dynamic-html", "120.uploader", "130.crud-api"}) {
    const auto& s = r.find(name);
    EXPECT_EQ(s.name, name);
    EXPECT_FALSE(s.package.empty());
    EXPECT_FALSE(s.function.empty());
  }
  EXPECT_TRUE(r.find("120.uploader").needs_storage);
  EXPECT_TRUE(r.find("130.crud-api").needs_storage);
  EXPECT_FALSE(r.find("010.sleep").needs_storage);
  EXPECT_EQ(r.find("010").name, "010.sleep");          // by id
  EXPECT_EQ(r.find("crud-api").name, "130.crud-api");  // by name without the id
}

TEST(Registry, UnknownAndDuplicateNamesAreConfigErrors) {
  try {
    all_benchmarks().find("999.nothing");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("010.sleep"), std::string::npos) << e.what();
  }
  Registry r;
  BenchmarkSpec s;
  s.name = "x";
  s.prepare = [](SizeClass, const StorageAccess&) { return PreparedInput{}; };
  s.validate = [](SizeClass, const PreparedInput&, std::span<const std::byte>,
                  const StorageAccess&) {
    return Validation{true, {}};
  };
  r.add(s);
  EXPECT_THROW(r.add(s), ConfigError);
  BenchmarkSpec incomplete;
  incomplete.name = "y";
  EXPECT_THROW(r.add(incomplete), ConfigError);
}

TEST(Registry, SelectExpandsAllInRegistryOrderWithoutDuplicates) {
  const auto all = select_benchmarks(all_benchmarks(), {"all"});
  EXPECT_EQ(all.size(), all_benchmarks().all().size());
  const auto some = select_benchmarks(all_benchmarks(), {"130.crud-api", "010", "130"});
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0]->name, "010.sleep");
  EXPECT_EQ(some[1]->name, "130.crud-api");
  EXPECT_THROW(select_benchmarks(all_benchmarks(), {}), ConfigError);
}

TEST(Inputs, DependOnTheSizeClassAndAreDeterministic) {
  for (const char* name : {"010.sleep", "110.dynamic-html"}) {
    const auto& s = all_benchmarks().find(name);
    const StorageAccess none;
    const auto t1 = s.prepare(SizeClass::kTest, none);
    const auto t2 = s.prepare(SizeClass::kTest, none);
    const auto small = s.prepare(SizeClass::kSmall, none);
    const auto large = s.prepare(SizeClass::kLarge, none);
    EXPECT_EQ(t1.payload, t2.payload) << name;
    EXPECT_NE(t1.payload, small.payload) << name;
    EXPECT_NE(small.payload, large.payload) << name;
  }
}

TEST(Inputs, StorageBenchmarksWithoutStorageSayWhatIsMissing) {
  try {
    all_benchmarks().find("120.uploader").prepare(SizeClass::kTest, StorageAccess{});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("storage.s3"), std::string::npos) << e.what();
  }
  try {
    all_benchmarks().find("130.crud-api").prepare(SizeClass::kTest, StorageAccess{});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("storage.redis"), std::string::npos) << e.what();
  }
}

TEST(Validate, SleepChecksTheDurationAndTheEcho) {
  const auto& s = all_benchmarks().find("010.sleep");
  const auto in = s.prepare(SizeClass::kSmall, {});
  const std::string good = R"({"slept_ms":100,"measured_ns":100200300})";
  EXPECT_TRUE(s.validate(SizeClass::kSmall, in, bytes(good), {}).ok);
  for (const std::string& bad :
       {std::string(R"({"slept_ms":10,"measured_ns":100200300})"),
        std::string(R"({"slept_ms":100,"measured_ns":99000000})"),
        std::string(R"({"slept_ms":100})"), std::string("not json"), std::string("")}) {
    const auto v = s.validate(SizeClass::kSmall, in, bytes(bad), {});
    EXPECT_FALSE(v.ok) << bad;
    EXPECT_FALSE(v.message.empty());
  }
}

// The page the package renders, built here by hand from the same template parts.
std::string page(uint64_t n, uint64_t seed, const std::string& user) {
  std::string p = html::kTemplate;
  p = p.substr(0, p.find("{{USERNAME:h}}")) + user +
      "!</h1>\n      <p>Data generated at: 2024-01-01 00:00:00 UTC!</p>\n"
      "      <p>Requested random numbers:</p>\n      <ul>\n";
  DetRng rng(seed);
  for (uint64_t i = 0; i < n; ++i)
    p += "        <li>" + std::to_string(rng.below(html::kNumberBound)) + "</li>\n";
  return p + "      </ul>\n    </div>\n  </body>\n</html>\n";
}

TEST(Validate, DynamicHtmlChecksStructureNumbersAndEscaping) {
  const auto& s = all_benchmarks().find("110.dynamic-html");
  const auto in = s.prepare(SizeClass::kTest, {});
  const std::string user = "hpcless &lt;bench&gt; &amp; co";
  EXPECT_TRUE(s.validate(SizeClass::kTest, in, bytes(page(10, 42, user)), {}).ok);
  // One item short, one too many, another seed, an unescaped name, a flipped digit.
  EXPECT_FALSE(s.validate(SizeClass::kTest, in, bytes(page(9, 42, user)), {}).ok);
  EXPECT_FALSE(s.validate(SizeClass::kTest, in, bytes(page(11, 42, user)), {}).ok);
  EXPECT_FALSE(s.validate(SizeClass::kTest, in, bytes(page(10, 43, user)), {}).ok);
  EXPECT_FALSE(
      s.validate(SizeClass::kTest, in, bytes(page(10, 42, "hpcless <bench> & co")), {}).ok);
  std::string flipped = page(10, 42, user);
  const size_t li = flipped.rfind("<li>") + 4;
  flipped[li] = flipped[li] == '9' ? '8' : static_cast<char>(flipped[li] + 1);
  const auto v = s.validate(SizeClass::kTest, in, bytes(flipped), {});
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("list item 9"), std::string::npos) << v.message;
}

TEST(Records, JsonCarriesPhasesColdAndValidation) {
  BenchRecord r;
  r.benchmark = "120.uploader";
  r.function = "uploader";
  r.size_class = "test";
  r.cold = true;
  r.valid = false;
  r.validation_message = "copy differs";
  r.phases = protocol::PhaseTimes{{1, 2, 3}};
  r.client_send_ns = 100;
  r.client_recv_ns = 2100;
  r.server = protocol::ServerTimestamps{200, 300, 1300, 1400};
  const auto j = to_json(r);
  EXPECT_EQ(j["schema"], kBenchInvocationSchema);
  EXPECT_EQ(j["cold"], true);
  EXPECT_EQ(j["validation"]["ok"], false);
  EXPECT_EQ(j["validation"]["message"], "copy differs");
  EXPECT_EQ(j["phases_ns"]["download"], 1);
  EXPECT_EQ(j["phases_ns"]["compute"], 2);
  EXPECT_EQ(j["phases_ns"]["upload"], 3);
  EXPECT_DOUBLE_EQ(j["latency_us"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["function_us"].get<double>(), 1.0);
  BenchRecord failed;
  failed.status = "function failed: boom";
  const auto f = to_json(failed);
  EXPECT_TRUE(f["validation"].is_null());
  EXPECT_TRUE(f["phases_ns"].is_null());
  EXPECT_TRUE(f["latency_us"].is_null());
}

TEST(Records, SummarySeparatesColdFromWarmAndCountsFailures) {
  std::vector<BenchRecord> recs;
  auto make = [&](bool cold, uint64_t latency_ns, const char* status, bool valid) {
    BenchRecord r;
    r.benchmark = "b";
    r.size_class = "test";
    r.cold = cold;
    r.status = status;
    if (std::strcmp(status, "ok") == 0) r.valid = valid;
    r.client_send_ns = 1000;
    r.client_recv_ns = 1000 + latency_ns;
    r.server = protocol::ServerTimestamps{1000, 1000, 1000 + latency_ns / 2, 1000};
    r.phases = protocol::PhaseTimes{{0, latency_ns / 4, 0}};
    recs.push_back(r);
  };
  make(true, 9'000'000, "ok", true);
  make(false, 1'000'000, "ok", true);
  make(false, 3'000'000, "ok", true);
  make(false, 2'000'000, "ok", false);
  make(false, 0, "timeout: x", false);
  const auto rows = summarize_records(recs);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].kind, "cold");
  EXPECT_EQ(rows[0].latency.count, 1u);
  EXPECT_DOUBLE_EQ(rows[0].latency.p50, 9000.0);
  EXPECT_DOUBLE_EQ(rows[0].phase_p50_us[1], 2250.0);
  EXPECT_EQ(rows[1].kind, "warm");
  EXPECT_EQ(rows[1].latency.count, 2u);
  EXPECT_EQ(rows[1].invalid, 1u);
  EXPECT_EQ(rows[1].failures, 1u);
  EXPECT_DOUBLE_EQ(rows[1].latency.max, 3000.0);
  const std::string csv = summary_csv(rows);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), kBenchSummaryHeader);
  EXPECT_NE(csv.find("b,test,cold,1,0,0,9000.000"), std::string::npos) << csv;
  EXPECT_NE(csv.find("b,test,warm,2,1,1,"), std::string::npos) << csv;
  const std::string gp = phase_gnuplot_script(rows);
  EXPECT_NE(gp.find("set multiplot"), std::string::npos);
  EXPECT_NE(gp.find("cold 0.000000 2.250000"), std::string::npos) << gp;
}

TEST(Util, Sha256OfKnownStrings) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Util, DetRngIsStable) {
  DetRng a(7), b(7);
  EXPECT_EQ(a.bytes(13), b.bytes(13));
  // SplitMix64's first output for seed 0 (reference value of the algorithm).
  EXPECT_EQ(DetRng(0).next(), 0xE220A8397B1DCDAFull);
}

}  // namespace
}  // namespace hpcless::bench
