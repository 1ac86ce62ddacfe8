// 311.compression, client side: generates and uploads the directory tree, validates the archive.
//
// The tree stands in for SeBS's `acmart-master` directory: a root with nested folders of LaTeX-like
// text, CSV tables and binary blobs (part random, part repeated) totalling about 128 KiB (8 files)
// / 8 MiB (64 files) / 128 MiB (256 files). Everything follows from (size class, path), so the
// same class always gives the same bytes. The manifest lists folders and files; it is uploaded
// last, and a tree whose manifest is already stored unchanged is not uploaded again.
// Validation downloads the .tar.zst, decompresses it (zstd checks its content checksum), parses
// the tar and compares every path and every file's SHA-256 with the generated tree. A correct
// archive is then deleted (a wrong one is kept to inspect).
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "comm/base/json.hpp"
#include "comm/storage/s3_client.hpp"
#include "functions/311.compression/tar.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"
#include "functions/bench/det_rng.hpp"
#include "functions/bench/result_checks.hpp"

namespace hpcless::bench {

namespace {

using nlohmann::json;
constexpr const char* kName = "311.compression";
constexpr uint64_t kSeed = 42;
constexpr uint64_t kMaxArchive = 4ull << 30;  // refuse to inflate anything larger

struct TreeSize {
  uint64_t bytes;
  int files;
};

TreeSize tree_size(SizeClass s) {
  return by_size_class<TreeSize>(s, {128u << 10, 8}, {8u << 20, 64}, {128u << 20, 256});
}

std::string prefix(SizeClass s) { return object_prefix(kName, s); }

Validation fail(std::string why) { return invalid(std::string(kName) + ": " + std::move(why)); }

const char* const kDirs[] = {"tree",     "tree/doc",  "tree/doc/figures", "tree/samples",
                             "tree/tex", "tree/data", "tree/data/raw",    "tree/bin"};
const char* const kWords[] = {
    "the",       "of",         "and",        "a",          "to",         "in",        "is",
    "function",  "serverless", "cluster",    "latency",    "throughput", "benchmark", "node",
    "\\section", "\\cite",     "\\label",    "\\begin",    "\\end",      "{figure}",  "{table}",
    "results",   "measured",   "median",     "percentile", "core",       "memory",    "network",
    "rdma",      "storage",    "invocation", "cold",       "warm",       "hot",       "$x_i$",
    "\\emph",    "we",         "show",       "that",       "this",       "paper",     "approach"};

struct FileSpec {
  std::string path;
  char kind;  // 't' text, 'c' csv, 'b' binary
  uint64_t size;
};

std::vector<FileSpec> tree_files(SizeClass s) {
  const TreeSize t = tree_size(s);
  DetRng rng(kSeed * 31 + static_cast<uint64_t>(s));
  std::vector<FileSpec> files;
  const uint64_t mean = t.bytes / static_cast<uint64_t>(t.files);
  for (int i = 0; i < t.files; ++i) {
    const char* dir = kDirs[rng.below(sizeof(kDirs) / sizeof(kDirs[0]))];
    const uint64_t r = rng.below(4);
    const char kind = r < 2 ? 't' : r == 2 ? 'c' : 'b';
    const char* ext = kind == 't' ? "tex" : kind == 'c' ? "csv" : "bin";
    char name[64];
    std::snprintf(name, sizeof(name), "%s-%03d.%s",
                  kind == 't'   ? "section"
                  : kind == 'c' ? "table"
                                : "blob",
                  i, ext);
    // Between 1/4 and 7/4 of the mean: the total stays near the class's size.
    const uint64_t size = mean / 4 + rng.below(mean * 3 / 2 + 1);
    files.push_back({std::string(dir) + "/" + name, kind, size});
  }
  return files;
}

std::string file_content(const FileSpec& f) {
  uint64_t h = kSeed;
  for (char c : f.path) h = h * 1099511628211ull + static_cast<uint8_t>(c);
  DetRng rng(h);
  std::string out;
  out.reserve(f.size + 64);
  if (f.kind == 't') {
    size_t line = 0;
    while (out.size() < f.size) {
      const char* w = kWords[rng.below(sizeof(kWords) / sizeof(kWords[0]))];
      out += w;
      line += std::strlen(w) + 1;
      if (line > 72) {
        out += '\n';
        line = 0;
      } else {
        out += ' ';
      }
    }
  } else if (f.kind == 'c') {
    uint64_t row = 0;
    while (out.size() < f.size) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "%llu,%llu.%03llu,%lld,node%02llu\n",
                    static_cast<unsigned long long>(row++),
                    static_cast<unsigned long long>(rng.below(10000)),
                    static_cast<unsigned long long>(rng.below(1000)),
                    static_cast<long long>(rng.below(2000)) - 1000,
                    static_cast<unsigned long long>(rng.below(64)));
      out += buf;
    }
  } else {
    // 4 KiB blocks: fresh random bytes, a copy of an earlier block, or zeros.
    constexpr size_t kB = 4096;
    while (out.size() < f.size) {
      const uint64_t r = rng.below(4);
      if (r < 2 || out.size() < kB) {
        out += rng.bytes(kB);
      } else if (r == 2) {
        const size_t from = rng.below(out.size() / kB) * kB;
        out.append(out, from, kB);
      } else {
        out.append(kB, '\0');
      }
    }
  }
  out.resize(f.size);
  return out;
}

PreparedInput prepare(SizeClass s, const StorageAccess& st) {
  require_s3(st, kName);
  const auto files = tree_files(s);
  json manifest = {{"root", "tree"}, {"directories", json::array()}, {"files", json::array()}};
  for (const char* d : kDirs) manifest["directories"].push_back(d);
  json hashes = json::array();
  std::vector<std::string> contents;
  uint64_t total = 0;
  for (const auto& f : files) {
    contents.push_back(file_content(f));
    manifest["files"].push_back(
        {{"path", f.path}, {"key", prefix(s) + "/" + f.path}, {"size", f.size}});
    hashes.push_back({{"path", f.path}, {"sha256", sha256_hex(contents.back())}});
    total += f.size;
  }
  const std::string manifest_key = prefix(s) + "/manifest.json";
  const std::string manifest_text = manifest.dump();
  const auto stored = st.s3->try_get_object(st.bucket, manifest_key);
  if (!stored || *stored != manifest_text) {
    for (size_t i = 0; i < files.size(); ++i)
      st.s3->put_object(st.bucket, manifest["files"][i]["key"].get<std::string>(), contents[i]);
    st.s3->put_object(st.bucket, manifest_key, manifest_text, "application/json");
  }
  PreparedInput in;
  in.payload = json{
      {"bucket", st.bucket},
      {"manifest", manifest_key},
      {"output_prefix", prefix(s) + "/output/"},
      {"level", 3}}.dump();
  in.expected = json{
      {"output_prefix", prefix(s) + "/output/"},
      {"directories", manifest["directories"]},
      {"files", hashes},
      {"input_bytes",
       total}}.dump();
  return in;
}

Validation validate(SizeClass, const PreparedInput& in, std::span<const std::byte> output,
                    const StorageAccess& st) {
  require_s3(st, kName);
  const json exp = json::parse(in.expected);
  std::string why;
  const auto object =
      output_object(output, exp["output_prefix"].get<std::string>(), "archive", why);
  if (!object) return fail(why);
  const json& r = object->result;
  const std::string& bucket = object->bucket;
  const std::string& key = object->key;
  if (r.value("input_bytes", json()) != exp["input_bytes"])
    return fail("result.input_bytes is " + r.value("input_bytes", json()).dump() + ", expected " +
                exp["input_bytes"].dump());
  const auto obj = st.s3->try_get_object(bucket, key);
  if (!obj) return fail("the archive " + bucket + "/" + key + " is missing");
  if (r.value("compressed_bytes", json()) != json(obj->size()))
    return fail("result.compressed_bytes is " + r.value("compressed_bytes", json()).dump() +
                ", the object has " + std::to_string(obj->size()) + " bytes");

  const unsigned long long content = ZSTD_getFrameContentSize(obj->data(), obj->size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return fail("the archive is not a zstd frame");
  if (content == ZSTD_CONTENTSIZE_UNKNOWN || content > kMaxArchive)
    return fail("the zstd frame does not state a content size below 4 GiB");
  std::string tar_bytes(content, '\0');
  const size_t n = ZSTD_decompress(tar_bytes.data(), tar_bytes.size(), obj->data(), obj->size());
  if (ZSTD_isError(n)) return fail(std::string("zstd decompression: ") + ZSTD_getErrorName(n));
  if (n != content) return fail("the zstd frame inflates to fewer bytes than it states");
  if (r.value("tar_bytes", json()) != json(n))
    return fail("result.tar_bytes is " + r.value("tar_bytes", json()).dump() +
                ", the archive has " + std::to_string(n));

  std::vector<tar::Entry> entries;
  try {
    entries = tar::read(tar_bytes);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  size_t dirs = 0, files = 0;
  const json& want_dirs = exp["directories"];
  const json& want_files = exp["files"];
  for (const auto& e : entries) {
    if (e.type == '5') {
      if (dirs >= want_dirs.size() || want_dirs[dirs] != e.path)
        return fail("unexpected directory '" + e.path + "' in the archive");
      ++dirs;
    } else if (e.type == '0') {
      if (files >= want_files.size() || want_files[files]["path"] != e.path)
        return fail("unexpected file '" + e.path + "' in the archive");
      if (sha256_hex(e.data) != want_files[files]["sha256"].get<std::string>())
        return fail("file '" + e.path + "' differs from the generated one (SHA-256)");
      ++files;
    } else {
      return fail("entry '" + e.path + "' has tar type '" + std::string(1, e.type) + "'");
    }
  }
  if (dirs != want_dirs.size() || files != want_files.size())
    return fail("the archive holds " + std::to_string(dirs) + " directories and " +
                std::to_string(files) + " files, expected " + std::to_string(want_dirs.size()) +
                " and " + std::to_string(want_files.size()));
  st.s3->delete_object(bucket, key);
  return valid();
}

}  // namespace

void register_311(Registry& r) {
  r.add(benchmark_spec(
      kName, "compression",
      "tar + zstd of a generated directory tree of 128 KiB / 8 MiB / 128 MiB (S3 in and out)",
      Storage::kNeeded, prepare, validate));
}

}  // namespace hpcless::bench
