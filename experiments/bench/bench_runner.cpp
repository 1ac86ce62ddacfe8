#include "experiments/bench/bench_runner.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "comm/base/clock.hpp"
#include "comm/base/error.hpp"
#include "experiments/common/results.hpp"
#include "functions/bench/storage_session.hpp"

namespace hpcless::bench {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::byte> read_package(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError("cannot read package '" + path.string() +
                      "' (build the hpcless_bench_packages target, or give --packages DIR)");
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(data.size());
  if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
  return out;
}

BenchRecord base_record(const BenchmarkSpec& spec, SizeClass size, uint64_t rep, bool hot) {
  BenchRecord r;
  r.benchmark = spec.name;
  r.function = spec.function;
  r.size_class = std::string(to_string(size));
  r.package = spec.package;
  r.mode = hot ? "hot" : "warm";
  r.rep = rep;
  return r;
}

class AddressTarget final : public InvocationTarget {
 public:
  AddressTarget(std::string address, bool hot, std::chrono::milliseconds timeout)
      : address_(std::move(address)), hot_(hot), timeout_(timeout) {}

  void open(std::span<const std::byte> package, const std::string& function) override {
    conn_.reset();
    client::ConnectOptions co;
    co.client_name = "hpcless-bench";
    co.connect_timeout = timeout_;
    co.hot_timeout_ms = hot_ ? protocol::kHotAlways : protocol::kWarmAlways;
    co.busy_poll = hot_;
    conn_ = client::Connection::connect(address_, co);
    const uint64_t t0 = now_ns();
    // Shipping the package (rather than relying on what the executor serves) makes every run use
    // the package built with this client; the worker caches it by content.
    conn_->load_package(package, Deadline::after(timeout_));
    load_us_ = static_cast<double>(now_ns() - t0) / 1000.0;
    function_id_ = conn_->function_id(function);
  }
  client::Connection& next(uint32_t& function_id) override {
    HPCLESS_CHECK(conn_ != nullptr, "AddressTarget::next before open");
    function_id = function_id_;
    return *conn_;
  }
  double load_us() const override { return load_us_; }
  std::string describe() const override { return "executor " + address_; }

 private:
  std::string address_;
  bool hot_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<client::Connection> conn_;
  uint32_t function_id_ = 0;
  double load_us_ = 0;
};

void say(std::FILE* log, const std::string& line) {
  if (log == nullptr) return;
  std::fprintf(log, "%s\n", line.c_str());
  std::fflush(log);
}

void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw Error("cannot write '" + tmp.string() + "' (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error("cannot rename '" + tmp.string() + "': " + ec.message());
}

}  // namespace

std::unique_ptr<InvocationTarget> address_target(const std::string& address, bool hot,
                                                 std::chrono::milliseconds timeout) {
  return std::make_unique<AddressTarget>(address, hot, timeout);
}

std::vector<const BenchmarkSpec*> select_benchmarks(const Registry& registry,
                                                    const std::vector<std::string>& names) {
  if (names.empty()) throw ConfigError("name a benchmark, or 'all' (see hpcless bench list)");
  std::vector<const BenchmarkSpec*> picked;
  for (const auto& n : names) {
    if (n == "all") {
      for (const auto& s : registry.all()) picked.push_back(&s);
    } else {
      picked.push_back(&registry.find(n));
    }
  }
  std::vector<const BenchmarkSpec*> ordered;
  for (const auto& s : registry.all())
    if (std::find(picked.begin(), picked.end(), &s) != picked.end()) ordered.push_back(&s);
  return ordered;
}

BenchRecord invoke_and_validate(client::Connection& conn, uint32_t function_id,
                                const BenchmarkSpec& spec, SizeClass size,
                                const PreparedInput& input, const StorageAccess& storage,
                                uint64_t rep, Deadline deadline, client::InvocationResult& res) {
  BenchRecord r = base_record(spec, size, rep, conn.busy_poll());
  const auto* p = reinterpret_cast<const std::byte*>(input.payload.data());
  r.input_bytes = input.payload.size();
  conn.invoke(function_id, {p, input.payload.size()}, res, deadline);
  r.client_send_ns = res.client_send_ns;
  r.client_recv_ns = res.client_recv_ns;
  r.worker = conn.info().worker_id;
  r.node = conn.info().node_name;
  r.output_bytes = res.output.size();
  if (res.client_recv_ns != 0) {
    r.cold = res.cold;
    if (res.server.recv_ns != 0) r.server = res.server;
    const auto& ph = res.phases.ns;
    if (ph[0] != 0 || ph[1] != 0 || ph[2] != 0) r.phases = res.phases;
  }
  if (!res.ok()) {
    r.status = res.error_message();
    return r;
  }
  try {
    const Validation v = spec.validate(size, input, res.output, storage);
    r.valid = v.ok;
    r.validation_message = v.message;
  } catch (const std::exception& e) {
    r.valid = false;
    r.validation_message = std::string("validator failed: ") + e.what();
  }
  return r;
}

BenchRunResult run_benchmarks(const Registry& registry, const BenchRunOptions& o, std::FILE* log) {
  if (o.address.empty() && !o.target)
    throw ConfigError("--address HOST:PORT of an executor is required");
  if (o.repetitions == 0) throw ConfigError("--repetitions must be at least 1");
  if (o.out_dir.empty()) throw ConfigError("--out DIR is required");
  const auto specs = select_benchmarks(registry, o.benchmarks);
  const auto start = std::chrono::system_clock::now();

  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw ConfigError("cannot create '" + o.out_dir.string() + "': " + ec.message());
  const fs::path jsonl_path = o.out_dir / "invocations.jsonl";
  if (fs::exists(jsonl_path, ec))
    throw ConfigError("results folder '" + o.out_dir.string() +
                      "' already holds a run (invocations.jsonl); choose another --out");
  std::ofstream jsonl(jsonl_path, std::ios::binary | std::ios::trunc);
  if (!jsonl) throw ConfigError("cannot create '" + jsonl_path.string() + "'");

  // Storage problems are the benchmarks' business: those that need it fail their prepare.
  StorageSession storage;
  std::string storage_error;
  try {
    storage = StorageSession::from_file(o.storage_config);
  } catch (const std::exception& e) {
    storage_error = e.what();
    say(log, "storage unavailable: " + storage_error);
  }

  std::vector<BenchRecord> records;
  experiments::ClockOffsetEstimator clock;
  json per_benchmark = json::object();
  auto emit = [&](BenchRecord r) {
    jsonl << to_json(r).dump() << '\n';
    if (!jsonl) throw Error("cannot write '" + jsonl_path.string() + "' (disk full?)");
    if (r.ok() && r.server) clock.add(r.client_send_ns, *r.server, r.client_recv_ns);
    records.push_back(std::move(r));
  };
  // Every planned invocation that cannot run is recorded with the reason.
  auto fail_rest = [&](const BenchmarkSpec& spec, uint64_t from, const std::string& why) {
    for (uint64_t rep = from; rep < o.repetitions; ++rep) {
      BenchRecord r = base_record(spec, o.size, rep, o.hot);
      r.status = why;
      emit(std::move(r));
    }
  };

  client::InvocationResult scratch;
  std::string target_description = o.target ? "custom target" : "executor " + o.address;
  for (const BenchmarkSpec* spec : specs) {
    say(log, spec->name + " (" + std::string(to_string(o.size)) + "): preparing");
    json info;
    PreparedInput input;
    const uint64_t p0 = now_ns();
    try {
      if (spec->needs_storage && !storage_error.empty())
        throw ConfigError("storage unavailable: " + storage_error);
      input = spec->prepare(o.size, storage.access());
    } catch (const std::exception& e) {
      fail_rest(*spec, 0, std::string("prepare failed: ") + e.what());
      say(log, spec->name + ": prepare failed: " + e.what());
      per_benchmark[spec->name] = json{{"prepare_error", e.what()}};
      continue;
    }
    info["prepare_ms"] = static_cast<double>(now_ns() - p0) / 1e6;
    info["input_bytes"] = input.payload.size();

    std::vector<std::byte> package;
    auto target = o.target ? o.target() : address_target(o.address, o.hot, o.timeout);
    target_description = target->describe();
    try {
      package = read_package(o.packages_dir / spec->package);
      target->open(package, spec->function);
      info["package_bytes"] = package.size();
      info["package_load_us"] = target->load_us();
    } catch (const std::exception& e) {
      fail_rest(*spec, 0, std::string("package load failed: ") + e.what());
      say(log, spec->name + ": " + e.what());
      info["package_error"] = e.what();
      per_benchmark[spec->name] = info;
      continue;
    }

    for (uint64_t rep = 0; rep < o.repetitions; ++rep) {
      try {
        uint32_t fid = 0;
        client::Connection& conn = target->next(fid);
        emit(invoke_and_validate(conn, fid, *spec, o.size, input, storage.access(), rep,
                                 Deadline::after(o.timeout), scratch));
      } catch (const Error& e) {
        // The connection broke (or timed out): record it, then start over on a new one.
        BenchRecord r = base_record(*spec, o.size, rep, o.hot);
        r.status = std::string(dynamic_cast<const TimeoutError*>(&e) ? "timeout: " : "io error: ") +
                   e.what();
        r.input_bytes = input.payload.size();
        emit(std::move(r));
        try {
          target->open(package, spec->function);
        } catch (const std::exception& again) {
          fail_rest(*spec, rep + 1, std::string("not run: cannot reconnect: ") + again.what());
          break;
        }
      }
    }
    jsonl.flush();
    per_benchmark[spec->name] = info;
    size_t bad = 0;
    for (const auto& r : records)
      if (r.benchmark == spec->name && !r.good()) ++bad;
    say(log, spec->name + ": " + std::to_string(o.repetitions) + " invocations, " +
                 std::to_string(bad) + " failed or invalid");
  }
  jsonl.flush();
  if (!jsonl) throw Error("cannot write '" + jsonl_path.string() + "' (disk full?)");

  BenchRunResult result;
  result.rows = summarize_records(records);
  result.records = records.size();
  for (const auto& r : records) {
    if (!r.ok())
      ++result.failures;
    else if (!r.good())
      ++result.invalid;
  }
  write_text(o.out_dir / "summary.csv", summary_csv(result.rows));

  json config;
  json names = json::array();
  for (const auto* s : specs) names.push_back(s->name);
  config["benchmarks"] = names;
  config["size_class"] = std::string(to_string(o.size));
  config["repetitions"] = o.repetitions;
  config["address"] = o.address;
  config["target"] = target_description;
  config["mode"] = o.hot ? "hot" : "warm";
  config["timeout_ms"] = o.timeout.count();
  config["packages_dir"] = o.packages_dir.string();
  config["storage_config_file"] = o.storage_config;
  // Secrets never reach the results: only the redacted form of the storage section.
  config["storage"] = storage.redacted_config();
  if (!storage_error.empty()) config["storage_error"] = storage_error;
  json meta =
      experiments::make_metadata("bench", config, start, std::chrono::system_clock::now(), clock);
  meta["bench_invocation_schema"] = kBenchInvocationSchema;
  meta["benchmarks"] = per_benchmark;
  meta["records"] = result.records;
  meta["failures"] = result.failures;
  meta["invalid"] = result.invalid;
  meta["cold_definition"] =
      "first invocation of the function in its worker process, decided by the worker before the "
      "function runs";
  write_text(o.out_dir / "metadata.json", meta.dump(2) + "\n");
  result.plot = plot_phases(o.out_dir, result.rows);
  if (!result.plot.ok) say(log, "plot: " + result.plot.message);
  return result;
}

}  // namespace hpcless::bench
