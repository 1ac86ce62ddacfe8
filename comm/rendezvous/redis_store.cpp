#include "comm/rendezvous/redis_store.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "comm/base/error.hpp"

namespace hpcless::rendezvous {

namespace {

using storage::RedisError;
using storage::RedisErrorKind;
using storage::RedisReply;

enum Script { kSet, kAdd, kCount };

// KEYS = value, event stream; ARGV = value, ttl ms (0: none).
constexpr const char* kSetLua = R"(
redis.call('SET', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '1', '*', 'v', '1')
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1)";

// KEYS = value, event stream; ARGV = delta, ttl ms. INCRBY fails on a non-integer value.
constexpr const char* kAddLua = R"(
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '1', '*', 'v', '1')
if tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return n)";

constexpr const char* kScripts[kCount] = {kSetLua, kAddLua};

template <class F>
auto guarded(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const RedisError& e) {
    if (e.kind() == RedisErrorKind::kTimeout) throw TimeoutError(what + ": " + e.what());
    throw IoError(what + ": " + e.what());
  }
}

}  // namespace

// A connection borrowed for one call; returned to the pool unless the call failed (a failed
// connection may be half-read).
class RedisStore::Lease {
 public:
  explicit Lease(RedisStore& s) : s_(s), c_(s.borrow()) {}
  ~Lease() {
    if (ok_) s_.give_back(std::move(c_));
  }
  storage::RedisClient& operator*() { return *c_; }
  storage::RedisClient* operator->() { return c_.get(); }
  void ok() { ok_ = true; }

 private:
  RedisStore& s_;
  std::unique_ptr<storage::RedisClient> c_;
  bool ok_ = false;
};

RedisStore::RedisStore(RedisStoreOptions options) : options_(std::move(options)) {
  if (options_.ttl && options_.ttl->count() <= 0)
    throw ConfigError("redis store: ttl must be positive (or unset)");
  Lease c(*this);
  for (int s = 0; s < kCount; ++s) {
    const RedisReply r = guarded("redis store", [&] {
      return c->command({"SCRIPT", "LOAD", kScripts[s]}, storage::Idempotent::kYes);
    });
    shas_.push_back(r.str);
  }
  c.ok();
}

RedisStore::~RedisStore() = default;

std::unique_ptr<storage::RedisClient> RedisStore::borrow() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return guarded("redis store",
                 [&] { return std::make_unique<storage::RedisClient>(options_.redis); });
}

void RedisStore::give_back(std::unique_ptr<storage::RedisClient> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(c));
}

std::string RedisStore::value_key(std::string_view key) const {
  return options_.prefix + "k:" + std::string(key);
}

std::string RedisStore::event_key(std::string_view key) const {
  return options_.prefix + "e:" + std::string(key);
}

RedisReply RedisStore::run_script(storage::RedisClient& c, int script,
                                  std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"EVALSHA", shas_[script], "2"});
  try {
    return c.command(argv);
  } catch (const RedisError& e) {
    if (e.kind() != RedisErrorKind::kServer ||
        std::string_view(e.what()).find("NOSCRIPT") == std::string_view::npos)
      throw;
    // The server forgot the script (restart): a NOSCRIPT answer means nothing ran.
    argv[0] = "EVAL";
    argv[1] = kScripts[script];
    return c.command(argv);
  }
}

void RedisStore::set(std::string_view key, std::span<const std::byte> value) {
  const std::string ttl = options_.ttl ? std::to_string(options_.ttl->count()) : "0";
  Lease c(*this);
  guarded("redis store: set '" + std::string(key) + "'", [&] {
    return run_script(
        *c, kSet,
        {value_key(key), event_key(key),
         std::string(reinterpret_cast<const char*>(value.data()), value.size()), ttl});
  });
  c.ok();
}

int64_t RedisStore::add(std::string_view key, int64_t delta) {
  const std::string ttl = options_.ttl ? std::to_string(options_.ttl->count()) : "0";
  Lease c(*this);
  RedisReply r;
  try {
    r = run_script(*c, kAdd, {value_key(key), event_key(key), std::to_string(delta), ttl});
  } catch (const RedisError& e) {
    if (e.kind() == RedisErrorKind::kServer &&
        std::string_view(e.what()).find("not an integer") != std::string_view::npos) {
      c.ok();
      throw ConfigError("redis store: add on key '" + std::string(key) +
                        "', whose value is not an integer (or would overflow)");
    }
    throw IoError("redis store: add '" + std::string(key) + "': " + e.what());
  }
  c.ok();
  if (r.type != RedisReply::Type::kInteger)
    throw ProtocolError("redis store: add '" + std::string(key) + "': unexpected reply");
  return r.integer;
}

std::vector<std::byte> RedisStore::get(std::string_view key, Deadline deadline) {
  const uint64_t start = now_ns();
  const std::string vk = value_key(key), ek = event_key(key);
  Lease c(*this);
  // Block at most half the command timeout per XREAD (the client waits that long for a reply).
  const auto slice = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1),
                                                         c->config().command_timeout / 2);
  std::string last_id = "0";
  while (true) {
    auto v = guarded("redis store: get '" + std::string(key) + "'", [&] { return c->get(vk); });
    if (v) {
      c.ok();
      std::vector<std::byte> out(v->size());
      if (!v->empty()) std::memcpy(out.data(), v->data(), v->size());
      return out;
    }
    if (deadline.expired()) {
      c.ok();
      throw TimeoutError("redis store: key '" + std::string(key) + "' did not appear within " +
                         std::to_string((now_ns() - start) / 1'000'000) + " ms (redis " +
                         c->address() + ")");
    }
    auto block = slice;
    if (!deadline.is_never())
      block = std::min(block, std::chrono::milliseconds(std::max(1, deadline.remaining_ms())));
    // Wakes on any write of the key after last_id (the first pass: on any write at all, so a
    // set between the GET above and this XREAD is not missed).
    const RedisReply r = guarded("redis store: get '" + std::string(key) + "'", [&] {
      return c->command({"XREAD", "BLOCK", std::to_string(block.count()), "STREAMS", ek, last_id});
    });
    if (r.type == RedisReply::Type::kArray && !r.elements.empty() &&
        r.elements[0].elements.size() == 2 && !r.elements[0].elements[1].elements.empty()) {
      const RedisReply& entry = r.elements[0].elements[1].elements.back();
      if (!entry.elements.empty()) last_id = entry.elements[0].str;
    }
  }
}

void RedisStore::erase_prefix(std::string_view prefix) {
  Lease c(*this);
  guarded("redis store: erase_prefix '" + std::string(prefix) + "'", [&] {
    for (const std::string& p : {value_key(prefix), event_key(prefix)}) {
      const std::vector<std::string> keys = c->scan_keys(p);
      for (size_t i = 0; i < keys.size(); i += 500)
        c->del(std::vector<std::string>(
            keys.begin() + static_cast<long>(i),
            keys.begin() + static_cast<long>(std::min(keys.size(), i + 500))));
    }
    return 0;
  });
  c.ok();
}

}  // namespace hpcless::rendezvous
