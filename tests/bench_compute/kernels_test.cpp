// Unit tests of the compute benchmarks' building blocks (no executor): the squiggle transform
// against squiggle's documented examples, the tar writer against GNU tar, the image codecs and
// resampling, and the client-side references (Jacobi windows, STREAM replay, DGEMM checksum)
// against straightforward full computations. Also: the registry holds every compute benchmark
// with the documented size classes, inputs really scale with the class, and validators reject
// outputs that are not what the function returns.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"
#include "functions/210.thumbnailer/image.hpp"
#include "functions/311.compression/tar.hpp"
#include "functions/504.dna-visualisation/squiggle.hpp"
#include "functions/601.matmul/matmul_common.hpp"
#include "functions/602.jacobi/jacobi_common.hpp"
#include "functions/603.stream/stream_common.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "tests/integration/executor_fixture.hpp"

namespace hpcless::bench {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// ---- 504: squiggle ---------------------------------------------------------------------------

std::vector<double> y_of(std::string_view seq) {
  std::vector<double> y;
  for (int32_t v : squiggle::transform_y2(seq)) y.push_back(v / 2.0);
  return y;
}

TEST(BenchComputeSquiggle, MatchesTheExamplesOfTheSquigglePackage) {
  // squiggle.transform's docstring and its tests (tests/test_squiggle.py).
  EXPECT_EQ(y_of("ATGC"), (std::vector<double>{0, 0.5, 0, -0.5, -1, -0.5, 0, -0.5, 0}));
  EXPECT_EQ(y_of("A"), (std::vector<double>{0, 0.5, 0}));
  EXPECT_EQ(y_of("T"), (std::vector<double>{0, -0.5, -1}));
  EXPECT_EQ(y_of("G"), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(y_of("C"), (std::vector<double>{0, -0.5, 0}));
  EXPECT_EQ(y_of("ATG"), (std::vector<double>{0, 0.5, 0, -0.5, -1, -0.5, 0}));
  EXPECT_EQ(y_of("TTC"), (std::vector<double>{0, -0.5, -1, -1.5, -2, -2.5, -2}));
  EXPECT_EQ(y_of("atgc"), y_of("ATGC"));                                   // upper-cased first
  EXPECT_EQ(y_of("ANA"), (std::vector<double>{0, 0.5, 0, 0, 0, 0.5, 0}));  // other: flat
}

TEST(BenchComputeSquiggle, FastaParsingDropsHeadersAndLineBreaks) {
  EXPECT_EQ(squiggle::sequence_of(">seq one\nACG\r\nT A\n;comment\nGG\n"), "ACGTAGG");
  EXPECT_EQ(squiggle::sequence_of("ACGT"), "ACGT");  // bare sequence
  const std::string f = squiggle::generate_fasta(1000, 42);
  EXPECT_EQ(f, squiggle::generate_fasta(1000, 42));  // deterministic
  EXPECT_NE(f, squiggle::generate_fasta(1000, 43));
  const std::string seq = squiggle::sequence_of(f);
  ASSERT_EQ(seq.size(), 1000u);
  EXPECT_EQ(seq.find_first_not_of("ACGT"), std::string::npos);
  size_t gc = 0;
  for (char c : seq) gc += (c == 'G' || c == 'C');
  EXPECT_NEAR(static_cast<double>(gc) / 1000, 0.42, 0.05);
}

TEST(BenchComputeSquiggle, ResultFormatRoundTripsAndRejectsGarbage) {
  const auto y2 = squiggle::transform_y2("GATTACA");
  const std::string enc = squiggle::encode(y2);
  EXPECT_EQ(enc.size(), squiggle::kHeaderBytes + 4 * y2.size());
  std::string why;
  const auto dec = squiggle::decode(enc, why);
  ASSERT_TRUE(dec.has_value()) << why;
  EXPECT_EQ(*dec, y2);
  EXPECT_FALSE(squiggle::decode("HPSQ", why));
  EXPECT_FALSE(squiggle::decode(enc.substr(0, enc.size() - 1), why));
  EXPECT_NE(why.find("does not hold"), std::string::npos) << why;
  std::string wrong = enc;
  wrong[0] = 'X';
  EXPECT_FALSE(squiggle::decode(wrong, why));
}

// ---- 311: tar --------------------------------------------------------------------------------

TEST(BenchComputeTar, RoundTripsFilesDirectoriesAndLongPaths) {
  const std::string long_dir(120, 'd');
  const std::string long_path = "root/" + long_dir + "/" + std::string(90, 'f') + ".txt";
  tar::Writer w;
  w.add_directory("root");
  w.add_file("root/a.txt", "hello\n");
  w.add_file("root/empty", "");
  w.add_file("root/block", std::string(512, 'x'));
  w.add_file(long_path, "long");
  const std::string a = w.finish();
  EXPECT_EQ(a.size() % 512, 0u);
  const auto e = tar::read(a);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].path, "root");
  EXPECT_EQ(e[0].type, '5');
  EXPECT_EQ(e[1].path, "root/a.txt");
  EXPECT_EQ(e[1].data, "hello\n");
  EXPECT_EQ(e[2].data, "");
  EXPECT_EQ(e[3].data, std::string(512, 'x'));
  EXPECT_EQ(e[4].path, long_path);
  EXPECT_EQ(e[4].data, "long");
  EXPECT_THROW(w.add_file(std::string(300, 'z'), "x"), std::invalid_argument);
}

TEST(BenchComputeTar, ReaderRejectsDamagedHeaders) {
  tar::Writer w;
  w.add_file("f", "data");
  const std::string a = w.finish();
  std::string bad = a;
  bad[0] = 'g';  // name changed, checksum not
  EXPECT_THROW(tar::read(bad), std::runtime_error);
  EXPECT_THROW(tar::read(a.substr(0, 700)), std::runtime_error);  // truncated
  std::string no_magic = a;
  no_magic[257] = 'X';
  EXPECT_THROW(tar::read(no_magic), std::runtime_error);
}

TEST(BenchComputeTar, GnuTarReadsOurArchives) {
  itest::TempDir dir;
  const std::string deep = "tree/" + std::string(110, 'p') + "/leaf.bin";
  tar::Writer w;
  w.add_directory("tree");
  w.add_file("tree/a.txt", "alpha");
  w.add_file(deep, std::string(1000, '\x01'));
  const std::string a = w.finish();
  std::ofstream(dir.file("t.tar"), std::ios::binary)
      .write(a.data(), static_cast<std::streamsize>(a.size()));
  const auto r = itest::run_to_exit({"/bin/tar", "-tvf", dir.file("t.tar")}, 10s);
  ASSERT_EQ(r.exit_code(), 0) << r.describe();
  EXPECT_NE(r.out.find("tree/a.txt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(deep), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hpcless/hpcless"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;  // no checksum or format complaints
}

// ---- 210: images -------------------------------------------------------------------------------

TEST(BenchComputeImage, FitBoxKeepsAspectAndNeverEnlarges) {
  EXPECT_EQ(image::fit_box(1920, 1080, 200, 200), std::make_pair(200, 113));
  EXPECT_EQ(image::fit_box(1080, 1920, 200, 200), std::make_pair(113, 200));
  EXPECT_EQ(image::fit_box(320, 240, 200, 200), std::make_pair(200, 150));
  EXPECT_EQ(image::fit_box(100, 50, 200, 200), std::make_pair(100, 50));
  EXPECT_EQ(image::fit_box(1, 10000, 200, 200), std::make_pair(1, 200));
}

TEST(BenchComputeImage, AreaResizeAveragesExactly) {
  image::Image img;
  img.width = 4;
  img.height = 2;
  img.rgb = {0,  0,  0,  10, 20, 30, 100, 100, 100, 0, 0, 0,   // row 0
             20, 40, 60, 30, 60, 90, 200, 200, 200, 0, 0, 0};  // row 1
  const auto half = image::resize_area(img, 2, 1);
  EXPECT_EQ(half.rgb, (std::vector<uint8_t>{15, 30, 45, 75, 75, 75}));
  const auto same = image::resize_area(img, 4, 2);
  EXPECT_EQ(same.rgb, img.rgb);
}

TEST(BenchComputeImage, CodecsRoundTripAndFailCleanlyOnGarbage) {
  const auto pic = image::synthetic(96, 64, 7);
  EXPECT_EQ(pic.rgb, image::synthetic(96, 64, 7).rgb);  // deterministic
  const std::string png = image::encode_png(pic);
  EXPECT_EQ(image::sniff(png), image::Format::kPng);
  EXPECT_EQ(image::decode(png).rgb, pic.rgb);  // lossless
  const std::string jpg = image::encode_jpeg(pic, 92);
  EXPECT_EQ(image::sniff(jpg), image::Format::kJpeg);
  const auto dj = image::decode(jpg);
  ASSERT_EQ(dj.width, 96);
  ASSERT_EQ(dj.height, 64);
  EXPECT_GT(image::psnr(dj, pic), 22.0);  // tiny and full of sharp coloured edges
  EXPECT_LT(image::psnr(dj, image::synthetic(96, 64, 8)), 15.0);
  EXPECT_THROW(image::decode("not an image"), std::runtime_error);
  // A JPEG header followed by garbage: libjpeg's error path (longjmp) must become an exception.
  std::string broken = jpg.substr(0, 20) + std::string(200, '\x42');
  EXPECT_THROW(image::decode(broken), std::runtime_error);
  EXPECT_THROW(image::decode(png.substr(0, 40)), std::runtime_error);
}

// ---- 601 / 602 / 603: references against full computations ----------------------------------

TEST(BenchComputeReference, MatmulMatchesAFullProduct) {
  matmul::Params p;
  p.n = 24;
  p.seed = 5;
  const size_t n = 24;
  std::vector<double> c(n * n, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < n; ++k)
      for (size_t j = 0; j < n; ++j)
        c[i * n + j] += matmul::element(p.seed, matmul::kMatrixA, i * n + k) *
                        matmul::element(p.seed, matmul::kMatrixB, k * n + j);
  double sum = 0;
  for (double v : c) sum += v;
  const auto ref = matmul::reference_checksum(p);
  EXPECT_NEAR(ref.value, sum, 1e-12 * ref.scale);
  for (const auto& [i, j] : matmul::sample_positions(p))
    EXPECT_NEAR(matmul::reference_element(p, i, j).value, c[static_cast<size_t>(i) * n + j], 1e-13);
}

TEST(BenchComputeReference, JacobiWindowsGiveTheFullRunsValuesExactly) {
  for (auto [n, iters] : {std::pair{64, 10}, std::pair{20, 30}, std::pair{5, 3}}) {
    jacobi::Params p;
    p.n = n;
    p.iterations = iters;
    p.seed = 9;
    std::vector<double> a, b;
    jacobi::fill_initial(p, a);
    const double residual = jacobi::run(p, a, b);
    EXPECT_GT(residual, 0.0);
    const size_t w = static_cast<size_t>(n) + 2;
    for (const auto& [i, j] : jacobi::sample_positions(p))
      EXPECT_EQ(jacobi::reference_point(p, i, j), a[static_cast<size_t>(i) * w + j])
          << "n=" << n << " iterations=" << iters << " at " << i << "," << j;
  }
}

TEST(BenchComputeReference, StreamReplayIsTheKernelSequence) {
  stream::Params p;
  p.n = 1000;
  p.ntimes = 4;
  std::vector<double> a(p.n), b(p.n, stream::kInitialB), c(p.n, stream::kInitialC);
  for (uint64_t i = 0; i < p.n; ++i) a[i] = stream::initial_a(p, i);
  for (int k = 0; k < p.ntimes; ++k) {
    for (size_t i = 0; i < p.n; ++i) c[i] = a[i];
    for (size_t i = 0; i < p.n; ++i) b[i] = p.scalar * c[i];
    for (size_t i = 0; i < p.n; ++i) c[i] = a[i] + b[i];
    for (size_t i = 0; i < p.n; ++i) a[i] = b[i] + p.scalar * c[i];
  }
  for (uint64_t i : stream::sample_indices(p)) {
    const auto e = stream::replay(p, i);
    EXPECT_EQ(e.a, a[i]);
    EXPECT_EQ(e.b, b[i]);
    EXPECT_EQ(e.c, c[i]);
    EXPECT_EQ(e.a, e.b + p.scalar * e.c);
  }
}

// ---- registry and inputs ---------------------------------------------------------------------

const char* const kCompute[] = {"210.thumbnailer", "311.compression", "501.graph-pagerank",
                                "502.graph-mst",   "503.graph-bfs",   "504.dna-visualisation",
                                "601.matmul",      "602.jacobi",      "603.stream"};

TEST(BenchComputeRegistry, HoldsEveryComputeBenchmarkWithItsPackage) {
  const auto& r = all_benchmarks();
  for (const char* name : kCompute) {
    const auto& s = r.find(name);
    const std::string id = std::string(name).substr(0, 3);
    EXPECT_EQ(s.package, "libhpcless_bench_" + id + ".so");
    EXPECT_FALSE(s.function.empty());
    EXPECT_EQ(&r.find(id), &s);  // "601" finds "601.matmul"
  }
}

// Compute-only benchmarks: the payload is deterministic and grows with the size class.
TEST(BenchComputeRegistry, ComputeInputsAreDeterministicAndScaleWithTheClass) {
  const StorageAccess none;
  const std::pair<const char*, const char*> knobs[] = {{"501.graph-pagerank", "size"},
                                                       {"502.graph-mst", "size"},
                                                       {"503.graph-bfs", "size"},
                                                       {"601.matmul", "n"},
                                                       {"602.jacobi", "n"},
                                                       {"603.stream", "n"}};
  for (const auto& [name, key] : knobs) {
    const auto& s = all_benchmarks().find(name);
    const auto test1 = s.prepare(SizeClass::kTest, none);
    const auto test2 = s.prepare(SizeClass::kTest, none);
    EXPECT_EQ(test1.payload, test2.payload) << name;
    EXPECT_EQ(test1.expected, test2.expected) << name;
    const auto small = json::parse(s.prepare(SizeClass::kSmall, none).payload);
    EXPECT_LT(json::parse(test1.payload)[key].get<int64_t>(), small[key].get<int64_t>()) << name;
  }
  // SeBS's sizes for the graphs.
  EXPECT_EQ(
      json::parse(all_benchmarks().find("501").prepare(SizeClass::kTest, none).payload)["size"],
      10);
  EXPECT_EQ(
      json::parse(all_benchmarks().find("503").prepare(SizeClass::kSmall, none).payload)["size"],
      10000);
}

TEST(BenchComputeRegistry, StorageBenchmarksSayTheyNeedStorage) {
  for (const char* name : {"210.thumbnailer", "311.compression", "504.dna-visualisation"}) {
    const auto& s = all_benchmarks().find(name);
    EXPECT_TRUE(s.needs_storage) << name;
    EXPECT_THROW(s.prepare(SizeClass::kTest, StorageAccess{}), ConfigError) << name;
  }
}

TEST(BenchComputeValidators, RejectOutputsThatAreNotTheFunctionsJson) {
  const StorageAccess none;
  for (const char* name : {"501", "502", "503", "601", "602", "603"}) {
    const auto& s = all_benchmarks().find(name);
    const auto in = s.prepare(SizeClass::kTest, none);
    for (std::string bad : {"", "not json", "[1,2]", "{}", "{\"result\": 3}", "{\"result\": {}}"}) {
      const auto v = s.validate(SizeClass::kTest, in, std::as_bytes(std::span(bad)), none);
      EXPECT_FALSE(v.ok) << name << " accepted '" << bad << "'";
      EXPECT_FALSE(v.message.empty()) << name;
    }
  }
}

}  // namespace
}  // namespace hpcless::bench
