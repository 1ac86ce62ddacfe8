#include "comm/communicator/cost_model.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "comm/base/error.hpp"
#include "comm/base/json.hpp"

namespace hpcless::comm {

namespace {

constexpr OpClass kOps[] = {OpClass::kP2p, OpClass::kAllreduce, OpClass::kBcast};

int ceil_log2(int p) {
  int steps = 0;
  while ((1 << steps) < p) ++steps;
  return steps;
}

bool peer_to_peer(ChannelKind k) {
  return k == ChannelKind::kDirect || k == ChannelKind::kDirectRdma;
}

double number(const nlohmann::json& j, const char* field, const std::string& where) {
  if (!j.contains(field)) throw ConfigError(where + "." + field + ": missing");
  const auto& v = j.at(field);
  if (!v.is_number()) throw ConfigError(where + "." + field + ": not a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < 0) throw ConfigError(where + "." + field + ": must be >= 0");
  return d;
}

}  // namespace

std::string_view to_string(OpClass op) noexcept {
  switch (op) {
    case OpClass::kP2p: return "p2p";
    case OpClass::kAllreduce: return "allreduce";
    case OpClass::kBcast: return "bcast";
  }
  return "?";
}

std::optional<OpClass> op_class_from_string(std::string_view s) noexcept {
  for (auto op : kOps)
    if (s == to_string(op)) return op;
  return std::nullopt;
}

LinkCost fit_alpha_beta(std::span<const std::pair<double, double>> pts, int ranks) {
  if (pts.empty()) throw ConfigError("cost model fit: no measurements");
  if (ranks < 1) throw ConfigError("cost model fit: ranks must be >= 1");
  double s = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [n, t] : pts) {
    if (!std::isfinite(n) || !std::isfinite(t) || n < 0 || t <= 0)
      throw ConfigError("cost model fit: measurement (" + std::to_string(n) + " bytes, " +
                        std::to_string(t) + " us) is not usable");
    const double w = 1.0 / (t * t);
    s += w;
    sx += w * n;
    sy += w * t;
    sxx += w * n * n;
    sxy += w * n * t;
  }
  LinkCost c;
  c.ranks = ranks;
  const double det = s * sxx - sx * sx;
  if (pts.size() < 2 || det <= 1e-300 * s * sxx) {  // one point, or all at one size
    c.alpha_us = sy / s;
    return c;
  }
  c.beta_us_per_byte = (s * sxy - sx * sy) / det;
  c.alpha_us = (sy - c.beta_us_per_byte * sx) / s;
  if (c.beta_us_per_byte < 0) {  // time falling with size: noise; keep the weighted mean
    c.beta_us_per_byte = 0;
    c.alpha_us = sy / s;
  } else if (c.alpha_us < 0) {  // a line through the origin instead
    c.alpha_us = 0;
    c.beta_us_per_byte = sxx > 0 ? sxy / sxx : 0;
  }
  return c;
}

CostModel CostModel::defaults() {
  // docs/comm-bench.md, first table: 4 ranks, medians of the OSU average latency in us at 8 B,
  // 64 KiB and 4 MiB. Point-to-point has no Redis/S3 figures there: a 2-rank bcast (one message)
  // stands in, from the 4-rank bcast figures.
  struct Row {
    ChannelKind k;
    OpClass op;
    double t8, t64k, t4m;
  };
  static constexpr Row kRows[] = {
      {ChannelKind::kDirect, OpClass::kAllreduce, 71.7, 149.3, 10334},
      {ChannelKind::kRedis, OpClass::kAllreduce, 434, 3324, 165193},
      {ChannelKind::kS3, OpClass::kAllreduce, 37546, 34936, 274517},
      {ChannelKind::kDirect, OpClass::kBcast, 19.0, 68.8, 2813},
      {ChannelKind::kRedis, OpClass::kBcast, 143, 487, 45230},
      {ChannelKind::kS3, OpClass::kBcast, 11208, 12340, 123028},
  };
  CostModel m;
  for (const auto& r : kRows) {
    const std::pair<double, double> pts[] = {{8, r.t8}, {65536, r.t64k}, {4194304, r.t4m}};
    m.set(r.k, r.op, fit_alpha_beta(pts, 4));
    if (r.op == OpClass::kBcast) {
      LinkCost p2p = m.get(r.k, r.op).value();
      p2p.ranks = 2;
      m.set(r.k, OpClass::kP2p, p2p);
    }
  }
  // Measured directly (comm-bench --op latency, 2 ranks, 8 B: 8.8-9.3 us).
  LinkCost direct_p2p = m.get(ChannelKind::kDirect, OpClass::kP2p).value();
  direct_p2p.alpha_us = 9.0;
  m.set(ChannelKind::kDirect, OpClass::kP2p, direct_p2p);
  return m;
}

CostModel CostModel::from_json(std::string_view text, std::string_view origin,
                               const std::string& base_dir) {
  const std::string where(origin);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw ConfigError(where + ": expected a JSON object");
  if (!j.contains("channels")) {
    // A run configuration: {"comm": {"cost_model": <model or path>}}.
    if (!j.contains("comm") || !j["comm"].is_object() || !j["comm"].contains("cost_model"))
      throw ConfigError(where + ": has neither \"channels\" (a cost model) nor "
                                "\"comm\".\"cost_model\" (a run configuration)");
    const auto& cm = j["comm"]["cost_model"];
    if (cm.is_string()) {
      std::filesystem::path p = cm.get<std::string>();
      if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
      return load(p.string());
    }
    if (!cm.is_object()) throw ConfigError(where + ": comm.cost_model must be a path or an object");
    return from_json(cm.dump(), where + ": comm.cost_model", base_dir);
  }
  if (j.contains("version") && j["version"] != 1)
    throw ConfigError(where + ": version " + j["version"].dump() + " is not supported (1 is)");
  const auto& ch = j["channels"];
  if (!ch.is_object()) throw ConfigError(where + ".channels: expected an object");
  CostModel m = defaults();
  for (const auto& [name, ops] : ch.items()) {
    const auto kind = channel_kind_from_string(name);
    if (!kind || *kind == ChannelKind::kAuto)
      throw ConfigError(where + ".channels." + name + ": unknown channel (direct, redis, s3)");
    if (!ops.is_object()) throw ConfigError(where + ".channels." + name + ": expected an object");
    for (const auto& [opname, v] : ops.items()) {
      const auto op = op_class_from_string(opname);
      const std::string at = where + ".channels." + name + "." + opname;
      if (!op) throw ConfigError(at + ": unknown operation class (p2p, allreduce, bcast)");
      if (!v.is_object()) throw ConfigError(at + ": expected an object");
      LinkCost c;
      c.alpha_us = number(v, "alpha_us", at);
      c.beta_us_per_byte = number(v, "beta_us_per_byte", at);
      const double r = v.contains("ranks") ? number(v, "ranks", at) : 2;
      if (r < 1 || r > 1e6 || r != std::floor(r)) throw ConfigError(at + ".ranks: must be >= 1");
      c.ranks = static_cast<int>(r);
      m.set(*kind, *op, c);
    }
  }
  return m;
}

CostModel CostModel::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read cost model '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return from_json(ss.str(), path,
                   std::filesystem::path(path).parent_path().empty()
                       ? std::string(".")
                       : std::filesystem::path(path).parent_path().string());
}

CostModel CostModel::from_env() {
  const char* p = std::getenv("HPCLESS_COMM_COST_MODEL");
  if (p == nullptr || *p == '\0') return defaults();
  return load(p);
}

std::string CostModel::to_json(std::string_view source) const {
  nlohmann::json j;
  j["version"] = 1;
  if (!source.empty()) j["source"] = std::string(source);
  j["model"] = "t_us = alpha_us + beta_us_per_byte * bytes, at `ranks` ranks";
  nlohmann::json ch = nlohmann::json::object();
  for (const auto& [key, c] : costs_) {
    ch[std::string(comm::to_string(key.first))][std::string(comm::to_string(key.second))] = {
        {"alpha_us", c.alpha_us}, {"beta_us_per_byte", c.beta_us_per_byte}, {"ranks", c.ranks}};
  }
  j["channels"] = ch;
  return j.dump(2) + "\n";
}

void CostModel::set(ChannelKind channel, OpClass op, LinkCost cost) {
  if (channel == ChannelKind::kAuto) throw ConfigError("the cost model has no entry for 'auto'");
  costs_[{channel, op}] = cost;
}

std::optional<LinkCost> CostModel::get(ChannelKind channel, OpClass op) const {
  const auto it = costs_.find({channel, op});
  if (it == costs_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> CostModel::predict(ChannelKind channel, OpClass op, int ranks,
                                         size_t bytes) const {
  const auto c = get(channel, op);
  if (!c) return std::nullopt;
  if (ranks <= 1) return 0.0;
  double alpha = c->alpha_us;
  double beta = c->beta_us_per_byte;
  if (op != OpClass::kP2p && c->ranks > 1) {
    if (peer_to_peer(channel))
      alpha *= static_cast<double>(ceil_log2(ranks)) / ceil_log2(c->ranks);
    else
      beta *= static_cast<double>(ranks - 1) / (c->ranks - 1);
  }
  return alpha + beta * static_cast<double>(bytes);
}

ChannelKind CostModel::choose(std::span<const ChannelKind> candidates, OpClass op, int ranks,
                              size_t bytes) const {
  if (candidates.empty()) throw ConfigError("auto channel: no candidate channels");
  std::optional<ChannelKind> best;
  double best_us = 0;
  for (ChannelKind k : candidates) {
    if (k == ChannelKind::kAuto) throw ConfigError("auto channel: 'auto' is not a candidate");
    const auto t = predict(k, op, ranks, bytes);
    if (!t) continue;
    if (!best || *t < best_us) {
      best = k;
      best_us = *t;
    }
  }
  return best.value_or(candidates.front());
}

}  // namespace hpcless::comm
