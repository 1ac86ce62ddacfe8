#include "tests/bench_compute/bench_harness.hpp"

#include <cstdlib>
#include <fstream>

#include "comm/base/clock.hpp"

namespace hpcless::benchtest {

using nlohmann::json;

std::string package_path(const bench::BenchmarkSpec& spec) {
  return std::string(HPCLESS_PACKAGES_DIR) + "/" + spec.package;
}

const bench::BenchmarkSpec& spec(const char* name) { return bench::all_benchmarks().find(name); }

itest::ExecutorOptions options_for(const bench::BenchmarkSpec& s, uint32_t workers) {
  itest::ExecutorOptions o;
  o.package = package_path(s);
  o.workers = workers;
  return o;
}

Storage::Storage() : server_({"bench"}), dir_("hpcless-bench-compute") {
  storage::S3Config c = server_.config("bench");
  // The functions' client: generous timeouts (sanitizer builds are slow), a few retries.
  const json cfg = {{"storage",
                     {{"s3",
                       {{"endpoint", c.endpoint},
                        {"region", c.region},
                        {"access_key", c.access_key},
                        {"secret_key", c.secret_key},
                        {"bucket", c.bucket},
                        {"path_style", true},
                        {"connect_timeout_ms", 2000},
                        {"request_timeout_ms", 30000},
                        {"retry",
                         {{"max_attempts", 3},
                          {"initial_backoff_ms", 50},
                          {"max_backoff_ms", 500},
                          {"deadline_ms", 30000}}}}}}}};
  const std::string path = dir_.path() + "/storage.json";
  std::ofstream(path) << cfg.dump(2);
  if (const char* old = std::getenv("HPCLESS_STORAGE_CONFIG")) previous_env_ = old;
  setenv("HPCLESS_STORAGE_CONFIG", path.c_str(), 1);
  c.request_timeout = std::chrono::seconds(30);
  c.retry.deadline = std::chrono::seconds(30);
  client_ = std::make_unique<storage::S3Client>(c);
  access_.s3 = client_.get();
  access_.bucket = "bench";
}

Storage::~Storage() {
  if (previous_env_)
    setenv("HPCLESS_STORAGE_CONFIG", previous_env_->c_str(), 1);
  else
    unsetenv("HPCLESS_STORAGE_CONFIG");
}

namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace

client::InvocationResult invoke_raw(const itest::ExecutorProcess& exec,
                                    const bench::BenchmarkSpec& spec, std::string_view payload,
                                    std::chrono::milliseconds timeout) {
  auto conn = exec.connect(itest::Mode::kWarm);
  client::InvocationResult r;
  conn->invoke(conn->function_id(spec.function), bytes_of(payload), r, Deadline::after(timeout));
  return r;
}

Outcome run(const itest::ExecutorProcess& exec, const bench::BenchmarkSpec& spec,
            bench::SizeClass size, const bench::StorageAccess& storage,
            std::chrono::milliseconds timeout, bool check) {
  Outcome o;
  o.input = spec.prepare(size, storage);
  o.result = invoke_raw(exec, spec, o.input.payload, timeout);
  if (!o.result.ok()) {
    o.validation = {false, "invocation failed: " + o.result.error_message()};
    return o;
  }
  o.output = json::parse(o.result.output_text(), nullptr, /*allow_exceptions=*/false);
  if (check) o.validation = spec.validate(size, o.input, o.result.output, storage);
  return o;
}

bench::Validation validate(const bench::BenchmarkSpec& spec, bench::SizeClass size,
                           const bench::PreparedInput& in, std::string_view output,
                           const bench::StorageAccess& storage) {
  return spec.validate(size, in, bytes_of(output), storage);
}

::testing::AssertionResult has_measurement_schema(const json& out) {
  if (!out.is_object() || !out.contains("benchmark") || !out["benchmark"].is_string())
    return ::testing::AssertionFailure()
           << "no \"benchmark\" name in " << out.dump().substr(0, 200);
  if (!out.contains("result") || !out["result"].is_object())
    return ::testing::AssertionFailure() << "no \"result\" object";
  if (!out.contains("measurement") || !out["measurement"].is_object())
    return ::testing::AssertionFailure() << "no \"measurement\" object";
  for (const char* k : {"download_us", "compute_us", "upload_us", "download_bytes", "upload_bytes"})
    if (!out["measurement"].contains(k) || !out["measurement"][k].is_number() ||
        out["measurement"][k].get<double>() < 0)
      return ::testing::AssertionFailure() << "measurement." << k << " missing or negative";
  return ::testing::AssertionSuccess();
}

}  // namespace hpcless::benchtest
