#include "functions/311.compression/tar.hpp"

#include <cstring>
#include <stdexcept>

namespace hpcless::bench::tar {

namespace {

// Header field offsets and lengths (POSIX.1-1988 ustar).
constexpr size_t kName = 0, kNameLen = 100;
constexpr size_t kMode = 100, kUid = 108, kGid = 116, kIdLen = 8;
constexpr size_t kSize = 124, kSizeLen = 12;
constexpr size_t kMtimeOff = 136;
constexpr size_t kChksum = 148, kChksumLen = 8;
constexpr size_t kType = 156;
constexpr size_t kMagic = 257;
constexpr char kMagicVersion[8] = {'u', 's', 't', 'a', 'r', '\0', '0', '0'};  // magic, version
constexpr size_t kUname = 265, kGname = 297;
constexpr size_t kPrefix = 345, kPrefixLen = 155;

void octal(char* field, size_t len, uint64_t v) {
  // len - 1 digits, zero-padded, then NUL.
  for (size_t i = len - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  field[len - 1] = '\0';
}

uint64_t parse_octal(const char* field, size_t len) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < len && field[i] == ' ') ++i;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; ++i)
    v = v * 8 + static_cast<uint64_t>(field[i] - '0');
  return v;
}

uint32_t checksum(const char* h) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= kChksum && i < kChksum + kChksumLen) ? ' ' : static_cast<uint8_t>(h[i]);
  return sum;
}

std::string field_string(const char* f, size_t len) { return std::string(f, strnlen(f, len)); }

}  // namespace

void Writer::header(std::string_view path, char type, uint64_t size, uint32_t mode) {
  if (path.empty()) throw std::invalid_argument("tar: empty path");
  if (size >= (1ull << 33))
    throw std::invalid_argument("tar: file over 8 GiB: " + std::string(path));
  std::string_view prefix, name = path;
  if (path.size() > kNameLen) {
    // Split at a '/' so that the prefix fits 155 bytes and the rest 100.
    // The last '/' within the prefix's reach leaves the shortest name.
    size_t cut = path.rfind('/', kPrefixLen);
    if (cut != std::string_view::npos && path.size() - cut - 1 > kNameLen)
      cut = std::string_view::npos;
    if (cut == std::string_view::npos || cut == 0)
      throw std::invalid_argument("tar: path too long for ustar: " + std::string(path));
    prefix = path.substr(0, cut);
    name = path.substr(cut + 1);
  }
  char h[kBlock];
  std::memset(h, 0, sizeof(h));
  std::memcpy(h + kName, name.data(), name.size());
  octal(h + kMode, kIdLen, mode);
  octal(h + kUid, kIdLen, 0);
  octal(h + kGid, kIdLen, 0);
  octal(h + kSize, kSizeLen, size);
  octal(h + kMtimeOff, kSizeLen, kMtime);
  h[kType] = type;
  std::memcpy(h + kMagic, kMagicVersion, sizeof(kMagicVersion));
  std::memcpy(h + kUname, "hpcless", 7);
  std::memcpy(h + kGname, "hpcless", 7);
  if (!prefix.empty()) std::memcpy(h + kPrefix, prefix.data(), prefix.size());
  // Checksum: six octal digits, NUL, space (what GNU tar writes).
  char sum[8];
  octal(sum, 7, checksum(h));
  std::memcpy(h + kChksum, sum, 7);
  h[kChksum + 7] = ' ';
  out_.append(h, kBlock);
}

void Writer::add_directory(std::string_view path) {
  std::string p(path);
  if (p.empty() || p.back() != '/') p += '/';
  header(p, '5', 0, 0755);
}

void Writer::add_file(std::string_view path, std::string_view data) {
  if (!path.empty() && path.back() == '/')
    throw std::invalid_argument("tar: file path ends in '/'");
  header(path, '0', data.size(), 0644);
  out_.append(data.data(), data.size());
  out_.append((kBlock - data.size() % kBlock) % kBlock, '\0');
}

std::string Writer::finish() {
  out_.append(2 * kBlock, '\0');
  std::string a;
  a.swap(out_);
  return a;
}

std::vector<Entry> read(std::string_view a) {
  std::vector<Entry> entries;
  size_t off = 0;
  while (true) {
    if (off + kBlock > a.size())
      throw std::runtime_error("tar: archive truncated at offset " + std::to_string(off));
    const char* h = a.data() + off;
    bool zero = true;
    for (size_t i = 0; i < kBlock && zero; ++i) zero = h[i] == '\0';
    if (zero) break;  // end of archive
    if (std::memcmp(h + kMagic, "ustar", 5) != 0)
      throw std::runtime_error("tar: no ustar magic at offset " + std::to_string(off));
    if (parse_octal(h + kChksum, kChksumLen) != checksum(h))
      throw std::runtime_error("tar: header checksum mismatch at offset " + std::to_string(off));
    Entry e;
    const std::string prefix = field_string(h + kPrefix, kPrefixLen);
    const std::string name = field_string(h + kName, kNameLen);
    e.path = prefix.empty() ? name : prefix + "/" + name;
    e.type = h[kType] == '\0' ? '0' : h[kType];
    const uint64_t size = parse_octal(h + kSize, kSizeLen);
    off += kBlock;
    if (size > a.size() - off)
      throw std::runtime_error("tar: entry '" + e.path + "' runs past the end of the archive");
    e.data = a.substr(off, size);
    off += (size + kBlock - 1) / kBlock * kBlock;
    if (e.type == '5' && !e.path.empty() && e.path.back() == '/') e.path.pop_back();
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace hpcless::bench::tar
