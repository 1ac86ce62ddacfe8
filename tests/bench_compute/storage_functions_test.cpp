// The storage-based compute benchmarks (210, 311, 504) at size `test` through a real standalone
// executor whose functions read and write a real s3rver: outputs validated, download/compute/upload
// phases reported, corrupted outputs and corrupted result objects rejected by the validators,
// and a clear failure when the executor has no storage.
#include <gtest/gtest.h>

#include <cstring>

#include "functions/210.thumbnailer/image.hpp"
#include "functions/abi/hpcless_function.h"
#include "tests/bench_compute/bench_harness.hpp"

namespace hpcless::benchtest {
namespace {

using bench::SizeClass;
using nlohmann::json;
using namespace std::chrono_literals;

void expect_ok_with_io_phases(const Outcome& o, const std::string& name) {
  ASSERT_TRUE(o.result.ok()) << name << ": " << o.result.error_message();
  EXPECT_TRUE(o.validation.ok) << o.validation.message;
  ASSERT_TRUE(has_measurement_schema(o.output)) << name;
  EXPECT_EQ(o.output["benchmark"], name);
  for (int p : {HPCLESS_PHASE_DOWNLOAD, HPCLESS_PHASE_COMPUTE, HPCLESS_PHASE_UPLOAD})
    EXPECT_GT(o.result.phases.ns[p], 0u) << name << " phase " << p;
  EXPECT_GT(o.output["measurement"]["download_bytes"].get<double>(), 0);
  EXPECT_GT(o.output["measurement"]["upload_bytes"].get<double>(), 0);
}

bool object_exists(Storage& st, const std::string& key) {
  return st.s3().head_object(st.bucket(), key).has_value();
}

TEST(BenchComputeDna, TestSizeValidatesAndCatchesCorruption) {
  Storage st;
  const auto& s = spec("504.dna-visualisation");
  itest::ExecutorProcess exec(options_for(s));
  Outcome o = run(exec, s, SizeClass::kTest, st.access());
  expect_ok_with_io_phases(o, s.name);
  ASSERT_TRUE(o.validation.ok);
  EXPECT_EQ(o.output["result"]["bases"], 1000);
  EXPECT_EQ(o.output["result"]["points"], 2001);
  const std::string key = o.output["result"]["key"];
  EXPECT_FALSE(object_exists(st, key)) << "a validated result is deleted";

  // A fresh result to damage (the validated one is gone).
  o = run(exec, s, SizeClass::kTest, st.access(), 90s, /*check=*/false);
  ASSERT_TRUE(o.result.ok()) << o.result.error_message();
  const std::string key2 = o.output["result"]["key"];
  json bad = o.output;
  bad["result"]["y_final"] = bad["result"]["y_final"].get<double>() + 0.5;
  EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, bad.dump(), st.access()).ok);
  bad = o.output;
  bad["result"]["key"] = "elsewhere/x.squiggle";
  EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, bad.dump(), st.access()).ok);

  const std::string good = st.s3().get_object(st.bucket(), key2);
  std::string damaged = good;
  damaged[16 + 4 * 777] ^= 0x02;  // y of point 777 moves by one step
  st.s3().put_object(st.bucket(), key2, damaged);
  const auto v = validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access());
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("point 777"), std::string::npos) << v.message;
  st.s3().put_object(st.bucket(), key2, damaged.substr(0, damaged.size() - 4));  // truncated
  EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access()).ok);
  st.s3().put_object(st.bucket(), key2, good);
  EXPECT_TRUE(validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access()).ok);
}

TEST(BenchComputeCompression, TestSizeValidatesAndCatchesCorruption) {
  Storage st;
  const auto& s = spec("311.compression");
  itest::ExecutorProcess exec(options_for(s));
  Outcome o = run(exec, s, SizeClass::kTest, st.access());
  expect_ok_with_io_phases(o, s.name);
  ASSERT_TRUE(o.validation.ok);
  const json& r = o.output["result"];
  EXPECT_EQ(r["files"], 8);
  EXPECT_EQ(r["directories"], 8);
  EXPECT_GT(r["compression_ratio"].get<double>(), 1.2);  // text and repeated blocks compress
  EXPECT_FALSE(object_exists(st, r["key"]));

  // Prepare again: the stored tree is reused (same manifest), and the run still validates.
  o = run(exec, s, SizeClass::kTest, st.access());
  ASSERT_TRUE(o.validation.ok) << o.validation.message;

  o = run(exec, s, SizeClass::kTest, st.access(), 90s, /*check=*/false);
  ASSERT_TRUE(o.result.ok()) << o.result.error_message();
  const std::string key = o.output["result"]["key"];
  json bad = o.output;
  bad["result"]["input_bytes"] = bad["result"]["input_bytes"].get<int64_t>() + 1;
  EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, bad.dump(), st.access()).ok);

  const std::string good = st.s3().get_object(st.bucket(), key);
  std::string damaged = good;
  damaged[damaged.size() / 2] ^= 0x10;
  st.s3().put_object(st.bucket(), key, damaged);
  EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access()).ok);
  // A stored tree file changed after prepare: the archive no longer matches the generated tree.
  st.s3().put_object(st.bucket(), key, good);
  const json in = json::parse(o.input.payload);
  const json manifest = json::parse(st.s3().get_object(st.bucket(), in["manifest"]));
  const std::string file_key = manifest["files"][2]["key"];
  const std::string file = st.s3().get_object(st.bucket(), file_key);
  std::string changed = file;
  changed[0] ^= 0x01;
  st.s3().put_object(st.bucket(), file_key, changed);
  const Outcome o2 = run(exec, s, SizeClass::kTest, st.access(), 90s, /*check=*/false);
  ASSERT_TRUE(o2.result.ok());
  const auto v = validate(s, SizeClass::kTest, o.input, o2.result.output_text(), st.access());
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("SHA-256"), std::string::npos) << v.message;
  st.s3().put_object(st.bucket(), file_key, file);
  EXPECT_TRUE(validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access()).ok);
}

TEST(BenchComputeThumbnailer, TestSizeValidatesAndCatchesCorruption) {
  Storage st;
  const auto& s = spec("210.thumbnailer");
  itest::ExecutorProcess exec(options_for(s));
  Outcome o = run(exec, s, SizeClass::kTest, st.access());
  expect_ok_with_io_phases(o, s.name);
  ASSERT_TRUE(o.validation.ok);
  const json& th = o.output["result"]["thumbnails"];
  ASSERT_EQ(th.size(), 2u);
  EXPECT_EQ(th[0]["format"], "jpeg");
  EXPECT_EQ(th[1]["format"], "png");
  for (const auto& t : th) {
    EXPECT_EQ(t["width"], 200);
    EXPECT_EQ(t["height"], 150);  // 320x240 into a 200x200 box
    EXPECT_FALSE(object_exists(st, t["key"]));
  }

  o = run(exec, s, SizeClass::kTest, st.access(), 90s, /*check=*/false);
  ASSERT_TRUE(o.result.ok()) << o.result.error_message();
  json bad = o.output;
  bad["result"]["thumbnails"][1]["height"] = 151;
  EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, bad.dump(), st.access()).ok);

  // Replace each thumbnail with its colour negative (same size and format): rejected.
  for (int i = 0; i < 2; ++i) {
    const std::string key = o.output["result"]["thumbnails"][i]["key"];
    const std::string good = st.s3().get_object(st.bucket(), key);
    bench::image::Image img = bench::image::decode(good);
    for (auto& c : img.rgb) c = static_cast<uint8_t>(255 - c);
    const auto f = bench::image::sniff(good);
    st.s3().put_object(st.bucket(), key, bench::image::encode(img, f));
    const auto v = validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access());
    EXPECT_FALSE(v.ok) << "negative " << i << " accepted";
    EXPECT_NE(v.message.find(f == bench::image::Format::kPng ? "PNG" : "PSNR"), std::string::npos)
        << v.message;
    st.s3().put_object(st.bucket(), key, "not an image");
    EXPECT_FALSE(validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access()).ok);
    st.s3().put_object(st.bucket(), key, good);
  }
  EXPECT_TRUE(validate(s, SizeClass::kTest, o.input, o.output.dump(), st.access()).ok);
}

TEST(BenchComputeStorage, MalformedInputsAndMissingObjectsFailClearly) {
  Storage st;
  for (const char* name : {"210.thumbnailer", "311.compression", "504.dna-visualisation"}) {
    const auto& s = spec(name);
    itest::ExecutorProcess exec(options_for(s));
    for (std::string_view bad : {std::string_view("not json"), std::string_view("{}")}) {
      const auto r = invoke_raw(exec, s, bad);
      EXPECT_EQ(r.status, protocol::Status::kFunctionFailed) << name;
      EXPECT_NE(r.error_message().find(s.name), std::string::npos) << r.error_message();
    }
    // Well-formed input naming objects that do not exist.
    const json missing = {{"input", "nope/x"},
                          {"inputs", {"nope/x.jpg"}},
                          {"manifest", "nope/manifest.json"},
                          {"output_prefix", "out/"},
                          {"width", 200},
                          {"height", 200}};
    const auto r = invoke_raw(exec, s, missing.dump());
    EXPECT_EQ(r.status, protocol::Status::kFunctionFailed) << name;
    EXPECT_NE(r.error_message().find("nope/"), std::string::npos) << r.error_message();
  }
}

TEST(BenchComputeStorage, ExecutorWithoutStorageGivesAClearError) {
  const auto& s = spec("504.dna-visualisation");
  itest::ExecutorProcess exec(options_for(s));  // no Storage object: no HPCLESS_STORAGE_CONFIG
  const auto r = invoke_raw(exec, s, R"({"input": "a.fasta", "output_prefix": "out/"})");
  EXPECT_EQ(r.status, protocol::Status::kFunctionFailed);
  EXPECT_NE(r.error_message().find("storage"), std::string::npos) << r.error_message();
}

}  // namespace
}  // namespace hpcless::benchtest
