#include "executor/loader/package.hpp"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string_view>

#include "comm/base/error.hpp"
#include "comm/protocol/messages.hpp"

namespace hpcless::executor {

namespace {
constexpr size_t kMaxShippedPackages = 64;
constexpr size_t kMaxNameLen = 255;

uint64_t fnv1a(std::span<const std::byte> bytes) {
  uint64_t h = 1469598103934665603ull;
  for (std::byte b : bytes) {
    h ^= static_cast<uint8_t>(b);
    h *= 1099511628211ull;
  }
  return h;
}
}  // namespace

Package::~Package() {
  if (handle_ != nullptr && !memfd_) dlclose(handle_);
}

std::shared_ptr<Package> Package::open(const std::string& path, const std::string& label) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    throw ConfigError("cannot load package " + label + ": " + (err ? err : "unknown dlopen error"));
  }
  std::shared_ptr<Package> pkg(new Package());
  pkg->handle_ = handle;
  auto fn = reinterpret_cast<hpcless_manifest_fn>(dlsym(handle, HPCLESS_MANIFEST_SYMBOL));
  if (fn == nullptr)
    throw ConfigError(label + " is not an hpcless package: it does not export " +
                      HPCLESS_MANIFEST_SYMBOL + " (declare its functions with HPCLESS_PACKAGE)");
  const hpcless_manifest* m = fn();
  if (m == nullptr) throw ConfigError(label + ": the manifest function returned null");
  if (m->abi_version != HPCLESS_ABI_VERSION)
    throw ConfigError(label + " was built for function ABI " + std::to_string(m->abi_version) +
                      ", this executor speaks " + std::to_string(HPCLESS_ABI_VERSION) +
                      ": rebuild the package");
  if (m->count == 0 || m->count > protocol::kMaxFunctions || m->entries == nullptr)
    throw ConfigError(label + ": the manifest must list 1 to " +
                      std::to_string(protocol::kMaxFunctions) + " functions");
  pkg->name_ = m->package_name ? std::string(m->package_name).substr(0, kMaxNameLen) : "unnamed";
  std::set<std::string_view> seen;
  for (uint32_t i = 0; i < m->count; ++i) {
    const hpcless_entry& e = m->entries[i];
    if (e.name == nullptr || e.fn == nullptr || e.name[0] == '\0')
      throw ConfigError(label + ": manifest entry " + std::to_string(i) +
                        " has no name or no function");
    std::string name(e.name);
    if (name.size() > kMaxNameLen)
      throw ConfigError(label + ": function name '" + name.substr(0, 40) + "...' is too long");
    if (!seen.insert(e.name).second)
      throw ConfigError(label + ": function '" + name + "' is listed twice");
    pkg->names_.push_back(std::move(name));
    pkg->fns_.push_back(e.fn);
  }
  return pkg;
}

std::shared_ptr<const Package> Package::load_file(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0)
    throw ConfigError("cannot read package '" + path + "': " + std::strerror(errno));
  return open(path, "'" + path + "'");
}

std::shared_ptr<const Package> Package::load_bytes(std::span<const std::byte> bytes) {
  static std::mutex mu;
  static std::map<std::pair<uint64_t, size_t>, std::shared_ptr<const Package>> cache;
  if (bytes.empty()) throw ConfigError("the shipped package is empty");
  const auto key = std::make_pair(fnv1a(bytes), bytes.size());
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= kMaxShippedPackages)
    throw ConfigError("this worker already holds " + std::to_string(kMaxShippedPackages) +
                      " shipped packages; start a new lease to load more");

  UniqueFd fd(memfd_create("hpcless-package", MFD_CLOEXEC));
  if (!fd) throw_system_error("memfd_create for a shipped package");
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_system_error("writing a shipped package to its memfd");
    off += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd.get());
  auto pkg = open(path, "shipped package (" + std::to_string(bytes.size()) + " bytes)");
  pkg->memfd_ = std::move(fd);
  cache.emplace(key, pkg);
  return pkg;
}

}  // namespace hpcless::executor
