// cost_model.json of `hpcless experiment comm`: alpha-beta fits per channel and operation class
// (comm/communicator/cost_model.hpp) of the medians the experiment measured, for the auto channel
// choice (CommOptions::channel = kAuto; load with CostModel::load or $HPCLESS_COMM_COST_MODEL).
#pragma once

#include <string>

#include "comm/communicator/cost_model.hpp"
#include "experiments/comm/experiment.hpp"

namespace hpcless::experiments::comm_bench {

// Series -> channel: "direct" (else "direct-spin") -> direct, "direct-rdma" (else
// "direct-rdma-spin") -> direct-rdma, "redis", "s3". Operation ->
// class: allreduce -> allreduce, bcast -> bcast, latency -> p2p (2 ranks). Entries without a
// measured value keep the defaults. `fitted` (optional) receives "channel/op" of every entry fit.
comm::CostModel fit_cost_model(const CommExperimentOutcome& out, const CommExperimentConfig& c,
                               std::vector<std::string>* fitted = nullptr);

}  // namespace hpcless::experiments::comm_bench
