#include "comm/channel/s3/s3_blob_store.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <thread>

namespace hpcless::comm::objstore {

namespace {

using namespace std::chrono_literals;

// Aborting and the final cleanup run on error paths and in destructors: few retries, short
// timeouts.
storage::S3Config quick(storage::S3Config c) {
  c.retry.max_attempts = std::min(c.retry.max_attempts, 2);
  c.retry.deadline = std::min<std::chrono::milliseconds>(c.retry.deadline, 5s);
  c.connect_timeout = std::min<std::chrono::milliseconds>(c.connect_timeout, 2s);
  c.request_timeout = std::min<std::chrono::milliseconds>(c.request_timeout, 10s);
  return c;
}

template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const storage::StorageError& e) {
    throw IoError(std::string(what) + ": " + e.what());
  }
}

// Every object ends with a trailer: payload length (u64 LE) and a magic. Some S3-compatible
// servers (s3rver among them) show an object while its PUT is still writing it; a reader that
// finds no valid trailer takes the object as not there yet. (AWS S3 PUTs are atomic; the cost is
// 12 bytes and one copy on upload.)
constexpr char kMagic[4] = {'h', 'p', 'c', 'O'};
constexpr size_t kTrailer = 12;

std::string with_trailer(std::span<const std::byte> data) {
  std::string body;
  body.reserve(data.size() + kTrailer);
  body.append(reinterpret_cast<const char*>(data.data()), data.size());
  const uint64_t n = data.size();
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  body.append(kMagic, sizeof(kMagic));
  return body;
}

// The payload length when `body` is a complete object, else nullopt.
std::optional<size_t> complete_length(const std::string& body) {
  if (body.size() < kTrailer) return std::nullopt;
  const char* t = body.data() + body.size() - kTrailer;
  if (std::memcmp(t + 8, kMagic, sizeof(kMagic)) != 0) return std::nullopt;
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(t[i])) << (8 * i);
  if (n != body.size() - kTrailer) return std::nullopt;
  return static_cast<size_t>(n);
}

std::string common_prefix(const std::vector<std::string>& keys) {
  if (keys.empty()) return {};
  std::string p = keys[0];
  for (const auto& k : keys) {
    size_t n = 0;
    while (n < p.size() && n < k.size() && p[n] == k[n]) ++n;
    p.resize(n);
  }
  return p;
}

}  // namespace

S3BlobStore::S3BlobStore(const storage::S3Config& config, std::string ns, int rank, int size,
                         S3BlobOptions options)
    : client_(config),
      abort_client_(quick(config)),
      bucket_(config.bucket),
      ns_(std::move(ns)),
      rank_(rank),
      size_(size),
      options_(options),
      rng_(std::random_device{}()) {
  if (bucket_.empty()) throw ConfigError("s3 channel: no bucket configured (storage.s3.bucket)");
  if (options_.poll_initial.count() <= 0 || options_.poll_max < options_.poll_initial)
    throw ConfigError("s3 channel: need 0 < poll_initial <= poll_max");
  if (options_.abort_check_interval.count() <= 0)
    throw ConfigError("s3 channel: abort_check_interval must be positive");
}

std::string S3BlobStore::full(std::string_view key) const {
  std::string k = ns_;
  k += key;
  return k;
}

void S3BlobStore::put(std::span<const PutItem> items) {
  for (const PutItem& it : items) {
    if (it.readers.empty()) continue;
    const std::string body = with_trailer(it.data);
    guarded("s3 channel", [&] { return client_.put_object(bucket_, full(it.key), body); });
  }
}

bool S3BlobStore::fetch_one(GetItem& it) {
  auto r = guarded("s3 channel", [&] { return client_.try_get_object(bucket_, full(it.key)); });
  if (!r) return false;
  const auto n = complete_length(*r);
  if (!n) {
    ++stats_.incomplete;
    return false;  // still being written
  }
  it.bytes = *n;
  it.truncated = it.bytes > it.capacity;
  if (!it.truncated && it.bytes != 0) std::memcpy(it.buf, r->data(), it.bytes);
  it.done = true;
  return true;
}

bool S3BlobStore::fetch_present(std::span<GetItem> items, bool in_order) {
  std::vector<size_t> missing;
  for (size_t i = 0; i < items.size(); ++i)
    if (!items[i].done) missing.push_back(i);
  bool any = false;
  if (!in_order && missing.size() >= 3) {
    // One LIST tells which of many objects exist; GET only those.
    std::vector<std::string> keys;
    for (size_t i : missing) keys.push_back(full(items[i].key));
    const std::string prefix = common_prefix(keys);
    ++stats_.lists;
    const auto listed = guarded("s3 channel", [&] { return client_.list_keys(bucket_, prefix); });
    const std::set<std::string> present(listed.begin(), listed.end());
    for (size_t j = 0; j < missing.size(); ++j)
      if (present.count(keys[j]) != 0) any |= fetch_one(items[missing[j]]);
    return any;
  }
  for (size_t i : missing) {
    if (fetch_one(items[i])) {
      any = true;
    } else if (in_order) {
      break;
    }
  }
  return any;
}

void S3BlobStore::backoff(std::chrono::microseconds& b, Deadline deadline) {
  ++stats_.polls;
  std::uniform_int_distribution<int64_t> jitter(b.count() / 2, b.count());
  uint64_t sleep_ns = static_cast<uint64_t>(jitter(rng_)) * 1000;
  if (!deadline.is_never()) {
    const uint64_t now = now_ns();
    sleep_ns = deadline.ns() > now ? std::min(sleep_ns, deadline.ns() - now) : 0;
  }
  if (sleep_ns != 0) std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns));
  b = std::min<std::chrono::microseconds>(b * 2, options_.poll_max);
}

void S3BlobStore::check_abort(uint64_t waiting_since, bool force) {
  const uint64_t now = now_ns();
  const uint64_t interval = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.abort_check_interval).count());
  if (!force && (now - waiting_since < interval || now - last_abort_check_ < interval)) return;
  last_abort_check_ = now;
  ++stats_.aborts_checked;
  auto read = [&] {
    return guarded("s3 channel", [&] { return client_.try_get_object(bucket_, full("!abort")); });
  };
  auto r = read();
  if (!r) return;
  // The marker may still be being written (see with_trailer): read it again for up to 1 s
  // rather than report an empty reason. An aborter that died mid-PUT still aborts the run.
  const uint64_t give_up = now_ns() + 1'000'000'000;
  while ((!r || !complete_length(*r)) && now_ns() < give_up) {
    std::this_thread::sleep_for(10ms);
    r = read();
  }
  std::string why = "(the aborting rank's reason could not be read)";
  if (r) {
    if (const auto n = complete_length(*r)) why = r->substr(0, *n);
  }
  throw RemoteAbort("the run was aborted: " + why);
}

void S3BlobStore::get(std::span<GetItem> items, bool in_order, Deadline deadline) {
  const uint64_t start = now_ns();
  std::chrono::microseconds b = options_.poll_initial;
  while (true) {
    if (fetch_present(items, in_order)) b = options_.poll_initial;
    const GetItem* first = nullptr;
    for (const auto& it : items)
      if (!it.done) {
        first = &it;
        break;
      }
    if (first == nullptr) return;
    check_abort(start);
    if (deadline.expired())
      throw TimeoutError("timed out after " + std::to_string((now_ns() - start) / 1'000'000) +
                         " ms waiting for an object from rank " + std::to_string(first->from) +
                         " (s3://" + bucket_ + "/" + full(first->key) + ")");
    backoff(b, deadline);
  }
}

bool S3BlobStore::try_get(std::span<GetItem> items, bool in_order) {
  fetch_present(items, in_order);
  for (const auto& it : items)
    if (!it.done) return false;
  return true;
}

std::string S3BlobStore::arrival_object(std::string_view key) const {
  return std::string(key) + "/" + std::to_string(rank_);
}

void S3BlobStore::arrive_and_wait(std::string_view key, int total, Deadline deadline) {
  const uint64_t start = now_ns();
  guarded("s3 channel", [&] { return client_.put_object(bucket_, full(arrival_object(key)), {}); });
  const std::string prefix = full(key) + "/";
  std::chrono::microseconds b = options_.poll_initial;
  while (true) {
    ++stats_.lists;
    const size_t n =
        guarded("s3 channel", [&] { return client_.list_keys(bucket_, prefix); }).size();
    if (n >= static_cast<size_t>(total)) return;
    check_abort(start);
    if (deadline.expired())
      throw TimeoutError("timed out after " + std::to_string((now_ns() - start) / 1'000'000) +
                         " ms in a barrier: " + std::to_string(n) + " of " + std::to_string(total) +
                         " ranks arrived (s3://" + bucket_ + "/" + prefix + ")");
    backoff(b, deadline);
  }
}

bool S3BlobStore::arrive(std::string_view key, int total) {
  guarded("s3 channel",
          [&] { return abort_client_.put_object(bucket_, full(arrival_object(key)), {}); });
  const std::string prefix = full(key) + "/";
  // Every rank lists after its own PUT, so the last one to arrive sees them all.
  return guarded("s3 channel", [&] { return abort_client_.list_keys(bucket_, prefix); }).size() >=
         static_cast<size_t>(total);
}

void S3BlobStore::post_abort(std::string_view reason) noexcept {
  try {
    const std::string key = full("!abort");
    if (abort_client_.head_object(bucket_, key)) return;  // the first reason stays
    std::string why(reason);
    if (why.empty()) why = "rank " + std::to_string(rank_) + " aborted";
    const std::string body =
        with_trailer(std::span(reinterpret_cast<const std::byte*>(why.data()), why.size()));
    abort_client_.put_object(bucket_, key, body, "text/plain");
  } catch (...) {
    // Best effort: the other ranks still fail at their deadlines.
  }
}

void S3BlobStore::erase(const std::vector<std::string>& keys) {
  std::vector<std::string> full_keys;
  full_keys.reserve(keys.size());
  for (const auto& k : keys) full_keys.push_back(full(k));
  if (!full_keys.empty())
    guarded("s3 channel", [&] {
      client_.delete_objects(bucket_, full_keys);
      return 0;
    });
}

void S3BlobStore::erase_all() {
  guarded("s3 channel cleanup", [&] { return abort_client_.delete_prefix(bucket_, ns_); });
}

}  // namespace hpcless::comm::objstore
