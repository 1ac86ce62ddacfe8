#include "experiments/comm/cost_fit.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace hpcless::experiments::comm_bench {

comm::CostModel fit_cost_model(const CommExperimentOutcome& out, const CommExperimentConfig& c,
                               std::vector<std::string>* fitted) {
  comm::CostModel model = comm::CostModel::defaults();
  const std::pair<const char*, comm::OpClass> ops[] = {{"allreduce", comm::OpClass::kAllreduce},
                                                       {"bcast", comm::OpClass::kBcast},
                                                       {"latency", comm::OpClass::kP2p}};
  const std::pair<comm::ChannelKind, std::vector<const char*>> channels[] = {
      {comm::ChannelKind::kDirect, {"direct", "direct-spin"}},
      {comm::ChannelKind::kDirectRdma, {"direct-rdma", "direct-rdma-spin"}},
      {comm::ChannelKind::kRedis, {"redis"}},
      {comm::ChannelKind::kS3, {"s3"}}};
  for (const auto& [op, cls] : ops) {
    const auto by_size = out.values.find(op);
    if (by_size == out.values.end()) continue;
    for (const auto& [kind, names] : channels) {
      for (const char* series : names) {
        std::vector<std::pair<double, double>> pts;
        for (const auto& [bytes, by_series] : by_size->second) {
          const auto it = by_series.find(series);
          if (it == by_series.end() || it->second.per_round.empty() || it->second.median <= 0)
            continue;
          pts.emplace_back(static_cast<double>(bytes), it->second.median);
        }
        if (pts.empty()) continue;
        const int ranks = cls == comm::OpClass::kP2p ? 2 : c.ranks;
        model.set(kind, cls, comm::fit_alpha_beta(pts, ranks));
        if (fitted != nullptr)
          fitted->push_back(std::string(comm::to_string(kind)) + "/" + op + " from " + series);
        break;  // "direct" first; "direct-spin" only when "direct" was not run
      }
    }
  }
  return model;
}

}  // namespace hpcless::experiments::comm_bench
