#include "experiments/common/results.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>
#include <thread>

#include "comm/base/cpu.hpp"
#include "comm/base/error.hpp"

#ifndef HPCLESS_GIT_REVISION
#define HPCLESS_GIT_REVISION "unknown"
#endif
#ifndef HPCLESS_PROJECT_VERSION
#define HPCLESS_PROJECT_VERSION "unknown"
#endif
#ifndef HPCLESS_BUILD_TYPE
#define HPCLESS_BUILD_TYPE "unknown"
#endif

namespace hpcless::experiments {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kJsonlName = "invocations.jsonl";

std::string format_us(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  // x86 says "model name"; some other architectures only have "Model" or "cpu model".
  for (const char* key : {"model name", "Model", "cpu model"}) {
    in.clear();
    in.seekg(0);
    while (std::getline(in, line)) {
      if (line.rfind(key, 0) != 0) continue;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      if (!value.empty()) return value;
    }
  }
  return "unknown";
}

std::string compiler_description() {
#if defined(__clang__)
  return std::string("clang ") + __VERSION__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return __VERSION__;
#endif
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot create '" + tmp.string() + "': " + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) throw Error("cannot write '" + tmp.string() + "' (disk full?)");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    throw Error("cannot rename '" + tmp.string() + "' to '" + path.string() + "': " + ec.message());
}


nlohmann::ordered_json to_json(const InvocationRecord& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["schema"] = kInvocationSchema;
  j["system"] = r.system;
  j["transport"] = r.transport;
  j["mode"] = r.mode;
  j["function"] = r.function;
  j["payload_bytes"] = r.payload_bytes;
  j["output_bytes"] = r.output_bytes;
  j["rep"] = r.rep;
  j["block"] = r.block;
  j["warmup"] = r.warmup;
  const auto stamp = [](uint64_t t) { return t == 0 ? json(nullptr) : json(t); };
  j["client_send_ns"] = stamp(r.client_send_ns);
  j["client_recv_ns"] = stamp(r.client_recv_ns);
  j["server_recv_ns"] = r.server ? stamp(r.server->recv_ns) : json(nullptr);
  j["server_start_ns"] = r.server ? stamp(r.server->start_ns) : json(nullptr);
  j["server_end_ns"] = r.server ? stamp(r.server->end_ns) : json(nullptr);
  j["server_send_ns"] = r.server ? stamp(r.server->send_ns) : json(nullptr);
  if (r.client_send_ns != 0 && r.client_recv_ns >= r.client_send_ns)
    j["latency_us"] = static_cast<double>(r.client_recv_ns - r.client_send_ns) / 1000.0;
  else
    j["latency_us"] = nullptr;
  j["status"] = r.status;
  j["cold"] = r.cold;
  j["worker"] = r.worker ? json(*r.worker) : json(nullptr);
  j["node"] = r.node;
  return j;
}

std::string summary_csv_line(const SummaryRow& row) {
  std::string line = row.system + "," + row.transport + "," + row.mode + "," +
                     std::to_string(row.payload_bytes) + "," + std::to_string(row.stats.count);
  const Summary& s = row.stats;
  for (double v : {s.p50, s.p90, s.p99, s.p999, s.mean, s.min, s.max}) {
    line += ',';
    if (s.count > 0) line += format_us(v);
  }
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "," + std::string temporaries.
  line += ',';
  line += std::to_string(row.failures);
  return line;
}

void ClockOffsetEstimator::add(uint64_t client_send_ns, const protocol::ServerTimestamps& server,
                               uint64_t client_recv_ns) {
  if (client_send_ns == 0 || client_recv_ns == 0 || server.recv_ns == 0 || server.send_ns == 0)
    return;
  // Signed arithmetic: on one host the two legs nearly cancel and either sign is expected.
  const double out_leg = static_cast<double>(static_cast<int64_t>(server.recv_ns - client_send_ns));
  const double back_leg =
      static_cast<double>(static_cast<int64_t>(server.send_ns - client_recv_ns));
  offsets_.push_back((out_leg + back_leg) / 2.0);
}

std::optional<double> ClockOffsetEstimator::median_ns() const {
  if (offsets_.empty()) return std::nullopt;
  std::vector<double> v = offsets_;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  if (v.size() % 2 == 1) return v[mid];
  const double upper = v[mid];
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2.0;
}

std::string utc_timestamp(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buf;
}

json host_metadata() {
  json h;
  char host[256] = {};
  h["hostname"] = gethostname(host, sizeof(host) - 1) == 0 ? std::string(host) : "unknown";
  utsname u{};
  if (uname(&u) == 0) {
    h["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
    h["machine"] = u.machine;
  } else {
    h["kernel"] = "unknown";
  }
  h["cpu_model"] = cpu_model();
  h["cores_online"] = std::thread::hardware_concurrency();
  h["cores_usable"] = usable_core_count();
  return h;
}

json build_metadata() {
  json b;
  b["compiler"] = compiler_description();
  b["build_type"] = HPCLESS_BUILD_TYPE;
  b["git_revision"] = HPCLESS_GIT_REVISION;
  b["hpcless_version"] = HPCLESS_PROJECT_VERSION;
  return b;
}

json make_metadata(std::string_view experiment, const json& config,
                   std::chrono::system_clock::time_point start,
                   std::chrono::system_clock::time_point end,
                   const ClockOffsetEstimator& clock_offset) {
  json m;
  m["experiment"] = experiment;
  m["invocation_schema"] = kInvocationSchema;
  m["start_utc"] = utc_timestamp(start);
  m["end_utc"] = utc_timestamp(end);
  m["duration_s"] = std::chrono::duration<double>(end - start).count();
  m["host"] = host_metadata();
  m["build"] = build_metadata();
  // Duplicated at the top level: the field readers look for first.
  m["git_revision"] = HPCLESS_GIT_REVISION;
  m["hpcless_version"] = HPCLESS_PROJECT_VERSION;
  json off;
  const auto median = clock_offset.median_ns();
  off["median_ns"] = median ? json(*median) : json(nullptr);
  off["samples"] = clock_offset.samples();
  off["method"] =
      "NTP-style, per invocation ((server_recv - client_send) + (server_send - client_recv)) / 2, "
      "median over successful hpcless invocations; positive means the worker's clock is ahead";
  off["note"] = "same host, CLOCK_MONOTONIC";
  m["clock_offset"] = off;
  m["config"] = config;
  return m;
}

ResultsWriter::ResultsWriter(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw ConfigError("cannot create results folder '" + dir_.string() + "': " + ec.message());
  const fs::path jsonl = dir_ / kJsonlName;
  if (fs::exists(jsonl, ec))
    throw ConfigError("results folder '" + dir_.string() +
                      "' already holds a run (invocations.jsonl); choose another --out");
  jsonl_.open(jsonl, std::ios::binary | std::ios::trunc);
  if (!jsonl_) throw ConfigError("cannot create '" + jsonl.string() + "': " + std::strerror(errno));
}

void ResultsWriter::append(const InvocationRecord& record) {
  jsonl_ << to_json(record).dump() << '\n';
  if (!jsonl_) throw Error("cannot write '" + (dir_ / kJsonlName).string() + "' (disk full?)");
  ++records_;
}

void ResultsWriter::flush() {
  jsonl_.flush();
  if (!jsonl_) throw Error("cannot write '" + (dir_ / kJsonlName).string() + "' (disk full?)");
}

void ResultsWriter::write_summary(std::span<const SummaryRow> rows) {
  std::string csv(kSummaryHeader);
  csv += '\n';
  for (const auto& r : rows) csv += summary_csv_line(r) + '\n';
  write_file_atomically(dir_ / "summary.csv", csv);
}

void ResultsWriter::write_metadata(const json& metadata) {
  write_file_atomically(dir_ / "metadata.json", metadata.dump(2) + "\n");
}

}  // namespace hpcless::experiments
