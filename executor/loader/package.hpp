// A loaded function package: a shared library exporting hpcless_manifest_v1 (see
// functions/abi/hpcless_function.h). Loaded from a path, or from bytes a client shipped (written
// to a memfd and loaded from /proc/self/fd/N).
//
// Ownership: shared_ptr; the library stays mapped while any holder exists. Packages loaded from
// bytes are cached by content and kept for the life of the process (dlclose cannot be trusted to
// unload C++ libraries, and a reused memfd path would then resolve to the stale library).
// Thread safety: a Package is immutable after loading; load_bytes is safe to call concurrently.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "comm/base/fd.hpp"
#include "functions/abi/hpcless_function.h"

namespace hpcless::executor {

class Package {
 public:
  // Throws ConfigError with the reason (missing file, not a package, ABI mismatch, bad manifest).
  static std::shared_ptr<const Package> load_file(const std::string& path);
  static std::shared_ptr<const Package> load_bytes(std::span<const std::byte> bytes);

  ~Package();
  Package(const Package&) = delete;
  Package& operator=(const Package&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::vector<std::string>& function_names() const noexcept { return names_; }
  uint32_t function_count() const noexcept { return static_cast<uint32_t>(fns_.size()); }
  // nullptr when `id` is out of range.
  hpcless_entry_fn function(uint32_t id) const noexcept {
    return id < fns_.size() ? fns_[id] : nullptr;
  }
  const std::string& function_name(uint32_t id) const { return names_.at(id); }

 private:
  Package() = default;
  static std::shared_ptr<Package> open(const std::string& path, const std::string& label);

  void* handle_ = nullptr;
  UniqueFd memfd_;  // keeps /proc/self/fd/N unique while the library is loaded
  std::string name_;
  std::vector<std::string> names_;
  std::vector<hpcless_entry_fn> fns_;
};

}  // namespace hpcless::executor
