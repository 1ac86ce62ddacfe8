// 311.compression: a minimal POSIX ustar writer and reader (regular files and directories only),
// shared by the function package and hpcless_bench.
//
// Archives are deterministic: mode 0644 (files) / 0755 (directories), uid/gid 0, owner "hpcless",
// a fixed mtime. Paths longer than 100 bytes are split into ustar's prefix (155) and name (100)
// at a '/'; a path that cannot be split is an error.
//
// Thread safety: objects are independent; use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::bench::tar {

inline constexpr size_t kBlock = 512;
inline constexpr uint64_t kMtime = 1700000000;  // 2023-11-14: fixed so archives are reproducible

class Writer {
 public:
  // Throws std::invalid_argument for a path ustar cannot hold or a file over 8 GiB.
  void add_directory(std::string_view path);  // "doc" or "doc/" (stored with a trailing '/')
  void add_file(std::string_view path, std::string_view data);
  // Appends the two zero blocks that end an archive and returns it (the writer is then empty).
  std::string finish();
  size_t size() const { return out_.size(); }
  void reserve(size_t bytes) { out_.reserve(bytes); }

 private:
  void header(std::string_view path, char type, uint64_t size, uint32_t mode);
  std::string out_;
};

struct Entry {
  std::string path;       // directories without the trailing '/'
  char type = '0';        // '0' file, '5' directory
  std::string_view data;  // points into the archive given to read()
};

// Parses an archive written by Writer (or any ustar/GNU tar of regular files and directories).
// Throws std::runtime_error naming the offset of a bad header (checksum, magic, truncation).
std::vector<Entry> read(std::string_view archive);

}  // namespace hpcless::bench::tar
