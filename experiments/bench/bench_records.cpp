#include "experiments/bench/bench_records.hpp"

#include <algorithm>
#include <cstdio>

namespace hpcless::bench {

namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kPhaseNames[3] = {"download", "compute", "upload"};

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

double p50(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return experiments::percentile_sorted(v, 50);
}

}  // namespace

ojson to_json(const BenchRecord& r) {
  ojson j;
  j["schema"] = kBenchInvocationSchema;
  j["benchmark"] = r.benchmark;
  j["function"] = r.function;
  j["size_class"] = r.size_class;
  j["package"] = r.package;
  j["system"] = "hpcless";
  j["transport"] = "tcp";
  j["mode"] = r.mode;
  j["rep"] = r.rep;
  j["cold"] = r.cold;
  j["status"] = r.status;
  if (r.valid) {
    j["validation"] = ojson{{"ok", *r.valid}, {"message", r.validation_message}};
  } else {
    j["validation"] = nullptr;
  }
  if (r.phases) {
    ojson p;
    for (int i = 0; i < 3; ++i) p[kPhaseNames[i]] = r.phases->ns[i];
    j["phases_ns"] = p;
  } else {
    j["phases_ns"] = nullptr;
  }
  const auto stamp = [](uint64_t t) { return t == 0 ? ojson(nullptr) : ojson(t); };
  j["client_send_ns"] = stamp(r.client_send_ns);
  j["client_recv_ns"] = stamp(r.client_recv_ns);
  j["server_recv_ns"] = r.server ? stamp(r.server->recv_ns) : ojson(nullptr);
  j["server_start_ns"] = r.server ? stamp(r.server->start_ns) : ojson(nullptr);
  j["server_end_ns"] = r.server ? stamp(r.server->end_ns) : ojson(nullptr);
  j["server_send_ns"] = r.server ? stamp(r.server->send_ns) : ojson(nullptr);
  if (r.client_send_ns != 0 && r.client_recv_ns >= r.client_send_ns)
    j["latency_us"] = static_cast<double>(r.client_recv_ns - r.client_send_ns) / 1000.0;
  else
    j["latency_us"] = nullptr;
  if (r.server && r.server->end_ns >= r.server->start_ns && r.server->start_ns != 0)
    j["function_us"] = static_cast<double>(r.server->end_ns - r.server->start_ns) / 1000.0;
  else
    j["function_us"] = nullptr;
  j["input_bytes"] = r.input_bytes;
  j["output_bytes"] = r.output_bytes;
  j["worker"] = r.worker ? ojson(*r.worker) : ojson(nullptr);
  j["node"] = r.node;
  return j;
}

std::vector<BenchSummaryRow> summarize_records(std::span<const BenchRecord> records) {
  std::vector<std::string> order;
  for (const auto& r : records)
    if (std::find(order.begin(), order.end(), r.benchmark) == order.end())
      order.push_back(r.benchmark);
  std::vector<BenchSummaryRow> rows;
  for (const auto& name : order) {
    for (const bool cold : {true, false}) {
      BenchSummaryRow row;
      row.benchmark = name;
      row.kind = cold ? "cold" : "warm";
      std::vector<double> latency, function, phase[3];
      bool any = false;
      for (const auto& r : records) {
        if (r.benchmark != name || r.cold != cold) continue;
        any = true;
        row.size_class = r.size_class;
        if (!r.ok()) {
          ++row.failures;
          continue;
        }
        if (!r.good()) {
          ++row.invalid;
          continue;
        }
        latency.push_back(static_cast<double>(r.client_recv_ns - r.client_send_ns) / 1000.0);
        if (r.server)
          function.push_back(static_cast<double>(r.server->end_ns - r.server->start_ns) / 1000.0);
        for (int i = 0; i < 3; ++i)
          phase[i].push_back(r.phases ? static_cast<double>(r.phases->ns[i]) / 1000.0 : 0.0);
      }
      if (!any) continue;
      row.latency = experiments::summarize(latency);
      row.function_p50_us = p50(function);
      for (int i = 0; i < 3; ++i) row.phase_p50_us[i] = p50(phase[i]);
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string summary_csv_line(const BenchSummaryRow& row) {
  std::string line = row.benchmark;
  line += ',';
  line += row.size_class;
  line += ',';
  line += row.kind;
  line += ',';
  line += std::to_string(row.latency.count);
  line += ',';
  line += std::to_string(row.failures);
  line += ',';
  line += std::to_string(row.invalid);
  const auto& s = row.latency;
  for (double v : {s.p50, s.p90, s.p99, s.p999, s.mean, s.min, s.max, row.function_p50_us,
                   row.phase_p50_us[0], row.phase_p50_us[1], row.phase_p50_us[2]}) {
    line += ',';
    if (s.count > 0) line += fmt(v);
  }
  return line;
}

std::string summary_csv(std::span<const BenchSummaryRow> rows) {
  std::string csv(kBenchSummaryHeader);
  csv += '\n';
  for (const auto& r : rows) {
    csv += summary_csv_line(r);
    csv += '\n';
  }
  return csv;
}

}  // namespace hpcless::bench
