// The benchmark registry: what `hpcless bench` needs to know about each benchmark function.
//
// Each benchmark folder (functions/<id.name>/) builds two things:
//   - a function package (a MODULE library built with hpcless_add_package), loaded by workers;
//   - a few sources linked into the client-side library `hpcless_bench` that register a
//     BenchmarkSpec: how to generate the input of a size class (deterministically, uploading
//     objects to storage if the benchmark reads them) and how to validate an output.
//
// Registration is explicit (no static-initialiser tricks that a linker may drop): each folder
// provides `void register_<id>(Registry&)` declared in functions/bench/all_benchmarks.hpp and
// called from functions/bench/all_benchmarks.cpp.
//
// Thread safety: a Registry is filled once at start-up and read-only afterwards.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::storage {
class S3Client;
class RedisClient;
}  // namespace hpcless::storage

namespace hpcless::bench {

enum class SizeClass { kTest, kSmall, kLarge };
SizeClass parse_size_class(std::string_view s);  // "test" | "small" | "large", else ConfigError
std::string_view to_string(SizeClass s);

// The value a size-class table holds for `s`: one place for the test / small / large switch that
// every benchmark's sizes need.
template <class T>
T by_size_class(SizeClass s, T test, T small, T large) {
  switch (s) {
    case SizeClass::kTest:
      return test;
    case SizeClass::kSmall:
      return small;
    case SizeClass::kLarge:
      return large;
  }
  return test;
}

// Storage the generator and validator may use (null when the run has no storage configured;
// a benchmark with needs_storage = true then cannot run and says so).
struct StorageAccess {
  storage::S3Client* s3 = nullptr;
  storage::RedisClient* redis = nullptr;
  std::string bucket;  // the run's benchmark bucket
};

struct PreparedInput {
  std::string payload;   // invocation input sent to the function (usually JSON)
  std::string expected;  // whatever validate() needs (e.g. a checksum, expected JSON), opaque
};

struct Validation {
  bool ok = false;
  std::string message;  // why the output is wrong (empty when ok)
};

struct BenchmarkSpec {
  std::string name;      // "501.graph-pagerank"
  std::string package;   // package file name in the packages folder: "libhpcless_bench_501.so"
  std::string function;  // entry point name in the package manifest
  std::string description;
  bool needs_storage = false;
  // Deterministic: the same size class gives the same input bytes and the same objects.
  std::function<PreparedInput(SizeClass, const StorageAccess&)> prepare;
  std::function<Validation(SizeClass, const PreparedInput&, std::span<const std::byte> output,
                           const StorageAccess&)>
      validate;
};

enum class Storage { kNotNeeded, kNeeded };

// The spec of a benchmark built by hpcless_add_benchmark: its package file follows from the
// numeric id in front of the name ("602.jacobi" -> "libhpcless_bench_602.so").
BenchmarkSpec benchmark_spec(std::string name, std::string function, std::string description,
                             Storage storage, decltype(BenchmarkSpec::prepare) prepare,
                             decltype(BenchmarkSpec::validate) validate);

class Registry {
 public:
  void add(BenchmarkSpec spec);  // ConfigError on a duplicate name
  const std::vector<BenchmarkSpec>& all() const { return specs_; }
  const BenchmarkSpec& find(std::string_view name) const;  // ConfigError listing known names

 private:
  std::vector<BenchmarkSpec> specs_;
};

}  // namespace hpcless::bench
