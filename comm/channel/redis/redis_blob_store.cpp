#include "comm/channel/redis/redis_blob_store.hpp"

#include <cstring>
#include <optional>
#include <utility>

namespace hpcless::comm::objstore {

namespace {

using storage::RedisError;
using storage::RedisErrorKind;
using storage::RedisReply;

// The scripts (loaded once per connection with SCRIPT LOAD, run with EVALSHA).
enum Script { kPut, kPop, kArrive, kAbort, kCount };

// ARGV[1] = ttl ms, then groups of (number of keys, number of elements, elements...): every key
// of a group gets the group's elements appended, and the TTL.
constexpr const char* kPutLua = R"(
local ttl = ARGV[1]
local k, a = 1, 2
while a <= #ARGV do
  local nk, ne = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  for i = k, k + nk - 1 do
    for j = a, a + ne - 1 do redis.call('RPUSH', KEYS[i], ARGV[j]) end
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  k = k + nk
  a = a + ne
end
return k - 1)";

// KEYS: the lists to pop, then the abort reason key. ARGV[1] = '1': stop at the first empty list.
// Returns {abort reason or '', index, element, index, element, ...}.
constexpr const char* kPopLua = R"(
local out = {redis.call('GET', KEYS[#KEYS]) or ''}
for i = 1, #KEYS - 1 do
  local v = redis.call('LPOP', KEYS[i])
  if v then
    out[#out + 1] = i
    out[#out + 1] = v
  elseif ARGV[1] == '1' then
    break
  end
end
return out)";

// KEYS[1] = counter, KEYS[2..] = the wake-up lists of ranks 0..; ARGV = ttl, total, my rank.
// The arrival that completes the count deletes the counter and wakes every other rank.
constexpr const char* kArriveLua = R"(
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if n == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  local me = tonumber(ARGV[3])
  for i = 2, #KEYS do
    if i - 2 ~= me then
      redis.call('RPUSH', KEYS[i], '1')
      redis.call('PEXPIRE', KEYS[i], ARGV[1])
    end
  end
end
return n)";

// KEYS[1] = abort reason, KEYS[2..] = every rank's abort list; ARGV = ttl, reason. The first
// abort wins; its reason wakes every rank.
constexpr const char* kAbortLua = R"(
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[1]) then
  for i = 2, #KEYS do
    redis.call('RPUSH', KEYS[i], ARGV[2])
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
  end
  return 1
end
return 0)";

constexpr const char* kScripts[kCount] = {kPutLua, kPopLua, kArriveLua, kAbortLua};

constexpr size_t kHeaderBytes = 1 + 8 + 4;

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// Runs a client call, turning RedisError into the channel's errors.
template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const RedisError& e) {
    if (e.kind() == RedisErrorKind::kTimeout)
      throw TimeoutError(std::string(what) + ": " + e.what());
    throw IoError(std::string(what) + ": " + e.what());
  }
}

std::chrono::milliseconds left_ms(Deadline d, std::chrono::milliseconds cap) {
  if (d.is_never()) return cap;
  const int ms = d.remaining_ms();
  return std::min(cap, std::chrono::milliseconds(std::max(ms, 1)));
}

// One BLPOP waits at most this long, so that a Redis restart or a never-deadline is noticed.
constexpr std::chrono::milliseconds kMaxBlock{10'000};

}  // namespace

RedisBlobStore::RedisBlobStore(const storage::RedisConfig& config, std::string ns, int rank,
                               int size, RedisBlobOptions options)
    : client_(
          guarded("connecting the redis channel", [&] { return storage::RedisClient(config); })),
      ns_(std::move(ns)),
      rank_(rank),
      size_(size),
      options_(options),
      ttl_(std::to_string(options.ttl.count())),
      abort_list_(ns_ + "!abort#" + std::to_string(rank)) {
  if (options_.ttl.count() <= 0) throw ConfigError("redis channel: key TTL must be positive");
  if (options_.chunk_bytes < 1024) throw ConfigError("redis channel: chunk_bytes must be >= 1024");
  if (options_.command_bytes < options_.chunk_bytes)
    throw ConfigError("redis channel: command_bytes must be >= chunk_bytes");
  shas_.resize(kCount);
  for (int s = 0; s < kCount; ++s) {
    const RedisReply r = guarded("loading the redis channel scripts", [&] {
      return client_.command({"SCRIPT", "LOAD", kScripts[s]}, storage::Idempotent::kYes);
    });
    if (r.type != RedisReply::Type::kString)
      throw IoError("redis at " + client_.address() + ": SCRIPT LOAD gave no digest");
    shas_[s] = r.str;
  }
}

std::string RedisBlobStore::full(std::string_view key) const {
  std::string k = ns_;
  k += key;
  return k;
}

std::string RedisBlobStore::reader_key(std::string_view key, int reader) const {
  std::string k = full(key);
  k += '#';
  k += std::to_string(reader);
  return k;
}

RedisReply RedisBlobStore::eval(int script, std::vector<std::string> keys,
                                std::vector<std::string> args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(shas_[script]);
  argv.push_back(std::to_string(keys.size()));
  for (auto& k : keys) argv.push_back(std::move(k));
  for (auto& a : args) argv.push_back(std::move(a));
  return guarded("redis channel", [&] {
    try {
      return client_.command(argv);
    } catch (const RedisError& e) {
      // The server lost its script cache (restart, SCRIPT FLUSH): load again and retry once;
      // a NOSCRIPT answer means nothing ran.
      if (e.kind() != RedisErrorKind::kServer ||
          std::string_view(e.what()).find("NOSCRIPT") == std::string_view::npos)
        throw;
      const RedisReply r =
          client_.command({"SCRIPT", "LOAD", kScripts[script]}, storage::Idempotent::kYes);
      shas_[script] = r.str;
      argv[1] = r.str;
      return client_.command(argv);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// put

void RedisBlobStore::put(std::span<const PutItem> items) {
  std::vector<std::string> keys, args;
  size_t payload = 0;
  auto flush = [&] {
    if (keys.empty()) return;
    args.insert(args.begin(), ttl_);
    eval(kPut, std::move(keys), std::move(args));
    keys.clear();
    args.clear();
    payload = 0;
  };
  auto group = [&](const PutItem& it, std::vector<std::string> elems) {
    for (int r : it.readers) keys.push_back(reader_key(it.key, r));
    args.push_back(std::to_string(it.readers.size()));
    args.push_back(std::to_string(elems.size()));
    for (auto& e : elems) {
      payload += e.size();
      args.push_back(std::move(e));
    }
  };
  for (const PutItem& it : items) {
    if (it.readers.empty()) continue;
    const size_t n = it.data.size();
    const char* d = reinterpret_cast<const char*>(it.data.data());
    if (n <= options_.chunk_bytes) {
      if (payload + n > options_.command_bytes) flush();
      std::string e;
      e.reserve(n + 1);
      e.push_back('S');
      if (n != 0) e.append(d, n);
      group(it, {std::move(e)});
      continue;
    }
    // Large: a header, then chunks; a message above command_bytes spans several calls (the
    // reader's BLPOP waits for the chunks that are still on their way).
    const uint64_t chunks = (n + options_.chunk_bytes - 1) / options_.chunk_bytes;
    std::string h;
    h.push_back('H');
    put_le(h, n, 8);
    put_le(h, chunks, 4);
    std::vector<std::string> elems{std::move(h)};
    size_t batch = 0;
    for (size_t off = 0; off < n; off += options_.chunk_bytes) {
      const size_t len = std::min(options_.chunk_bytes, n - off);
      if (payload + batch + len > options_.command_bytes && !elems.empty()) {
        group(it, std::move(elems));
        elems = {};
        batch = 0;
        flush();
      }
      elems.emplace_back(d + off, len);
      batch += len;
    }
    if (!elems.empty()) group(it, std::move(elems));
  }
  flush();
}

// ---------------------------------------------------------------------------------------------
// get

void RedisBlobStore::take(GetItem& it, std::string&& first, Deadline chunk_deadline) {
  if (first.empty() || (first[0] != 'S' && first[0] != 'H') ||
      (first[0] == 'H' && first.size() != kHeaderBytes))
    throw ProtocolError("redis channel: malformed object '" + full(it.key) + "'");
  if (first[0] == 'S') {
    it.bytes = first.size() - 1;
    it.truncated = it.bytes > it.capacity;
    if (!it.truncated && it.bytes != 0) std::memcpy(it.buf, first.data() + 1, it.bytes);
    it.done = true;
    return;
  }
  const uint64_t total = get_le(first.data() + 1, 8);
  const uint64_t chunks = get_le(first.data() + 9, 4);
  it.bytes = total;
  it.truncated = total > it.capacity;
  const std::string key = reader_key(it.key, rank_);
  uint64_t got = 0;
  size_t off = 0;
  const uint64_t start = now_ns();
  while (got < chunks) {
    // Usually all chunks are there (one script call pushed them): take them in one LPOP.
    RedisReply r = guarded("redis channel", [&] {
      return client_.command({"LPOP", key, std::to_string(chunks - got)});
    });
    std::vector<std::string> parts;
    if (r.type == RedisReply::Type::kArray) {
      for (auto& e : r.elements) parts.push_back(std::move(e.str));
    } else if (!r.is_nil()) {
      throw ProtocolError("redis channel: unexpected LPOP reply for '" + key + "'");
    }
    if (parts.empty()) {
      if (chunk_deadline.expired()) timeout("the rest of a large object", it.from, it.key, start);
      auto p = blocking_pop({key}, chunk_deadline);
      if (p) parts.push_back(std::move(p->second));
    }
    for (auto& c : parts) {
      if (off + c.size() > total)
        throw ProtocolError("redis channel: object '" + key + "' is longer than its header says");
      if (!it.truncated && !c.empty()) std::memcpy(it.buf + off, c.data(), c.size());
      off += c.size();
      ++got;
    }
  }
  if (off != total)
    throw ProtocolError("redis channel: object '" + key + "' is shorter than its header says");
  it.done = true;
}

bool RedisBlobStore::pop_present(std::span<GetItem> items, bool in_order, Deadline chunk_deadline) {
  std::vector<std::string> keys;
  std::vector<size_t> index;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].done) continue;
    keys.push_back(reader_key(items[i].key, rank_));
    index.push_back(i);
  }
  if (keys.empty()) return false;
  keys.push_back(full("!abort"));
  RedisReply r = eval(kPop, std::move(keys), {in_order ? "1" : "0"});
  if (r.type != RedisReply::Type::kArray || r.elements.empty() || r.elements.size() % 2 != 1)
    throw ProtocolError("redis channel: malformed reply of the pop script");
  bool any = false;
  // Take the popped elements first (they are consumed), then report an abort.
  for (size_t e = 1; e + 1 < r.elements.size(); e += 2) {
    const long long k = r.elements[e].integer;
    if (k < 1 || static_cast<size_t>(k) > index.size())
      throw ProtocolError("redis channel: malformed reply of the pop script");
    take(items[index[static_cast<size_t>(k - 1)]], std::move(r.elements[e + 1].str),
         chunk_deadline);
    any = true;
  }
  if (!r.elements[0].str.empty()) throw RemoteAbort("the run was aborted: " + r.elements[0].str);
  return any;
}

std::optional<std::pair<std::string, std::string>> RedisBlobStore::blocking_pop(
    const std::vector<std::string>& keys, Deadline deadline) {
  std::vector<std::string> all = keys;
  all.push_back(abort_list_);
  auto r =
      guarded("redis channel", [&] { return client_.blpop(all, left_ms(deadline, kMaxBlock)); });
  if (r && r->first == abort_list_) throw RemoteAbort("the run was aborted: " + r->second);
  return r;
}

void RedisBlobStore::timeout(std::string_view what, int from, std::string_view key,
                             uint64_t start) const {
  throw TimeoutError("timed out after " + std::to_string((now_ns() - start) / 1'000'000) +
                     " ms waiting for " + std::string(what) + " from rank " + std::to_string(from) +
                     " (key '" + reader_key(key, rank_) + "' at redis " + client_.address() + ")");
}

void RedisBlobStore::get(std::span<GetItem> items, bool in_order, Deadline deadline) {
  const uint64_t start = now_ns();
  bool scan = true;  // a non-blocking pass over every missing item
  while (true) {
    if (scan) pop_present(items, in_order, deadline);
    std::vector<std::string> keys;
    const GetItem* first = nullptr;
    size_t missing = 0;
    for (const auto& it : items) {
      if (it.done) continue;
      ++missing;
      if (first == nullptr) first = &it;
      if (!in_order || keys.empty()) keys.push_back(reader_key(it.key, rank_));
    }
    if (missing == 0) return;
    if (deadline.expired()) timeout("an object", first->from, first->key, start);
    auto p = blocking_pop(keys, deadline);
    scan = false;
    if (!p) continue;
    for (auto& it : items) {
      if (!it.done && reader_key(it.key, rank_) == p->first) {
        take(it, std::move(p->second), deadline);
        break;
      }
    }
    // Several still missing: they may all be there by now, one call fetches them.
    scan = missing > 2;
  }
}

bool RedisBlobStore::try_get(std::span<GetItem> items, bool in_order) {
  // A large message whose header is here has its chunks on the way: give them the command
  // timeout to arrive.
  pop_present(items, in_order, Deadline::after(client_.config().command_timeout));
  for (const auto& it : items)
    if (!it.done) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// counters, abort, cleanup

void RedisBlobStore::arrive_and_wait(std::string_view key, int total, Deadline deadline) {
  const uint64_t start = now_ns();
  std::vector<std::string> keys{full(key)};
  for (int r = 0; r < total; ++r) keys.push_back(reader_key(key, r));
  const RedisReply n =
      eval(kArrive, std::move(keys), {ttl_, std::to_string(total), std::to_string(rank_)});
  if (n.type != RedisReply::Type::kInteger || n.integer < 1 || n.integer > total)
    throw ProtocolError("redis channel: counter '" + full(key) + "' went past " +
                        std::to_string(total) + " (ranks disagree on the group size?)");
  if (n.integer == total) return;
  const std::vector<std::string> go{reader_key(key, rank_)};
  while (true) {
    if (deadline.expired())
      throw TimeoutError("timed out after " + std::to_string((now_ns() - start) / 1'000'000) +
                         " ms in a barrier: " + std::to_string(total - n.integer) +
                         " or fewer of " + std::to_string(total) +
                         " ranks had not arrived when this rank did (counter '" + full(key) +
                         "' at redis " + client_.address() + ")");
    if (blocking_pop(go, deadline)) return;
  }
}

bool RedisBlobStore::arrive(std::string_view key, int total) {
  const RedisReply n = eval(kArrive, {full(key)}, {ttl_, std::to_string(total), "-1"});
  return n.type == RedisReply::Type::kInteger && n.integer >= total;
}

void RedisBlobStore::post_abort(std::string_view reason) noexcept {
  try {
    std::vector<std::string> keys{full("!abort")};
    for (int r = 0; r < size_; ++r) keys.push_back(ns_ + "!abort#" + std::to_string(r));
    std::string why(reason);
    if (why.empty()) why = "rank " + std::to_string(rank_) + " aborted";
    eval(kAbort, std::move(keys), {ttl_, std::move(why)});
  } catch (...) {
    // Best effort: the other ranks still fail at their deadlines.
  }
}

void RedisBlobStore::erase(const std::vector<std::string>& keys) {
  std::vector<std::string> full_keys;
  for (const auto& k : keys) full_keys.push_back(full(k));
  if (!full_keys.empty()) guarded("redis channel", [&] { return client_.del(full_keys); });
}

void RedisBlobStore::erase_all() {
  guarded("redis channel cleanup", [&] {
    const std::vector<std::string> keys = client_.scan_keys(ns_);
    for (size_t i = 0; i < keys.size(); i += 500) {
      std::vector<std::string> batch(
          keys.begin() + static_cast<long>(i),
          keys.begin() + static_cast<long>(std::min(keys.size(), i + 500)));
      client_.del(batch);
    }
    return 0;
  });
}

}  // namespace hpcless::comm::objstore
