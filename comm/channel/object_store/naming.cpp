#include "comm/channel/object_store/naming.hpp"

#include <cstdio>
#include <random>

#include "comm/base/error.hpp"

namespace hpcless::comm::objstore {

std::string random_run_id() {
  std::random_device rd;
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string run_key(std::string_view kind, const std::string& group) {
  return std::string(kind) + "-run/" + group;
}

void check_args(int rank, int size, const std::string& group, const std::string& run) {
  if (size < 1) throw ConfigError("channel size must be at least 1, got " + std::to_string(size));
  if (rank < 0 || rank >= size)
    throw ConfigError("rank " + std::to_string(rank) + " is outside the group size " +
                      std::to_string(size));
  if (group.empty() || group.size() > 512)
    throw ConfigError("group name must be 1..512 bytes, got " + std::to_string(group.size()));
  for (unsigned char c : group)
    if (c < 0x20 || c == 0x7f) throw ConfigError("group name must not contain control characters");
  for (char c : run)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      throw ConfigError("run id '" + run + "' may only contain letters, digits, '.', '_', '-'");
  if (run.size() > 128) throw ConfigError("run id must be at most 128 characters");
}

std::string resolve_run(int rank, int size, const std::string& group, rendezvous::Store* store,
                        const std::string& run, std::string_view kind, Deadline deadline) {
  check_args(rank, size, group, run);
  if (!run.empty()) return run;
  if (store == nullptr)
    throw ConfigError(std::string(kind) +
                      " channel: needs either a run id (options.run) or a rendezvous store");
  const std::string key = run_key(kind, group);
  if (rank == 0) {
    std::string fresh = random_run_id();
    store->set_string(key, fresh);
    return fresh;
  }
  try {
    return store->get_string(key, deadline);
  } catch (const TimeoutError& e) {
    throw TimeoutError("rank " + std::to_string(rank) + " of group '" + group +
                       "' waited in vain for rank 0 to publish the " + std::string(kind) +
                       " run id ('" + key + "' in the rendezvous store): " + e.what());
  }
}

}  // namespace hpcless::comm::objstore
