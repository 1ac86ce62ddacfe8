#include "executor/spawn/memory_limit.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

namespace hpcless::executor {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

// The cgroup v2 directory this process belongs to, or "" when there is no cgroup2 mount.
std::string own_cgroup_v2_dir() {
  std::string mount;
  std::istringstream mounts(read_file("/proc/self/mounts"));
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
    if (type == "cgroup2") {
      mount = dir;
      break;
    }
  if (mount.empty()) return "";
  std::istringstream groups(read_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(groups, line))
    if (line.rfind("0::", 0) == 0) return mount + (line.substr(3) == "/" ? "" : line.substr(3));
  return "";
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w)
    if (w == word) return true;
  return false;
}

}  // namespace

MemoryLimit MemoryLimit::for_lease(const std::string& lease_id, uint64_t memory_mb) {
  MemoryLimit m;
  if (memory_mb == 0) return m;
  const std::string root = own_cgroup_v2_dir();
  if (!root.empty() && has_word(read_file(root + "/cgroup.controllers"), "memory")) {
    const std::string dir = root + "/hpcless-" + lease_id + "-" + std::to_string(getpid());
    if (mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) {
      if (access((dir + "/memory.max").c_str(), W_OK) != 0)
        (void)write_file(root + "/cgroup.subtree_control", "+memory");
      if (write_file(dir + "/memory.max", std::to_string(memory_mb << 20)) &&
          access((dir + "/cgroup.procs").c_str(), W_OK) == 0) {
        m.dir_ = dir;
        m.procs_ = dir + "/cgroup.procs";
        m.how_ = "cgroup v2 memory.max=" + std::to_string(memory_mb) + " MiB at " + dir;
        return m;
      }
      rmdir(dir.c_str());
    }
  }
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer reserves terabytes of address space for its shadow memory: an RLIMIT_AS
  // would stop the worker from starting at all.
  m.how_ = "none (RLIMIT_AS is unusable in a sanitizer build)";
#else
  m.rlimit_as_ = (memory_mb + kAddressSpaceHeadroomMb) << 20;
  m.how_ = "RLIMIT_AS=" + std::to_string(memory_mb + kAddressSpaceHeadroomMb) + " MiB (" +
           std::to_string(memory_mb) + " MiB leased + " +
           std::to_string(kAddressSpaceHeadroomMb) + " MiB headroom; no writable cgroup v2)";
#endif
  return m;
}

MemoryLimit::MemoryLimit(MemoryLimit&& o) noexcept
    : dir_(std::exchange(o.dir_, {})),
      procs_(std::exchange(o.procs_, {})),
      rlimit_as_(o.rlimit_as_),
      how_(std::move(o.how_)) {}

MemoryLimit& MemoryLimit::operator=(MemoryLimit&& o) noexcept {
  if (this != &o) {
    if (!dir_.empty()) rmdir(dir_.c_str());
    dir_ = std::exchange(o.dir_, {});
    procs_ = std::exchange(o.procs_, {});
    rlimit_as_ = o.rlimit_as_;
    how_ = std::move(o.how_);
  }
  return *this;
}

MemoryLimit::~MemoryLimit() {
  // Succeeds once the worker has exited (a cgroup with processes cannot be removed).
  if (!dir_.empty()) rmdir(dir_.c_str());
}

}  // namespace hpcless::executor
