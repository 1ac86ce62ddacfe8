// `hpcless slurm submit EXPERIMENT`: runs an experiment inside a Slurm allocation through
// slurm/hpcless-cluster.sbatch (manager on the first node, one executor per node).
#pragma once

#include <string>
#include <vector>

namespace hpcless::cli {

// argv[0] is "slurm". Exit code: 0 success, 1 sbatch failed or the job failed (--wait), 2 bad
// options.
int slurm_main(int argc, char** argv);

// The shell command the batch script runs for `experiment` with `args` (each argument quoted).
// invocation-overhead gets a 1-core lease around it; every experiment writes to
// $HPCLESS_JOB_DIR/<experiment>. Throws ConfigError for an unknown experiment.
std::string experiment_command(const std::string& hpcless, const std::string& experiment,
                               const std::vector<std::string>& args);

// 'it'\''s' quoting for bash.
std::string shell_quote(const std::string& s);

}  // namespace hpcless::cli
