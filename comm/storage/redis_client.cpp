#include "comm/storage/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

namespace hpcless::storage {

std::string_view to_string(RedisErrorKind kind) noexcept {
  switch (kind) {
    case RedisErrorKind::kUnreachable:
      return "unreachable";
    case RedisErrorKind::kAuth:
      return "authentication";
    case RedisErrorKind::kWrongType:
      return "wrong type";
    case RedisErrorKind::kTimeout:
      return "timeout";
    case RedisErrorKind::kConnectionLost:
      return "connection lost";
    case RedisErrorKind::kServer:
      return "server error";
    case RedisErrorKind::kProtocol:
      return "protocol";
  }
  return "unknown";
}

RedisError::RedisError(RedisErrorKind kind, const std::string& message)
    : Error(message), kind_(kind) {}

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// hiredis writes with write(2), which raises SIGPIPE on a connection the server closed. Block it
// in this thread for the duration of a call and discard one that became pending, so a dead server
// gives an error instead of killing the process (without touching the process-wide disposition).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!sigismember(&old_, SIGPIPE)) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
};

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string command_name(const std::vector<std::string_view>& argv) {
  return argv.empty() ? std::string("?") : std::string(argv[0]);
}

// Printable form of a key for messages (binary keys are cut and escaped).
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 32 && c < 127) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

std::string millis_as_seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld.%03lld", static_cast<long long>(ms.count() / 1000),
                static_cast<long long>(ms.count() % 1000));
  return buf;
}

}  // namespace

void RedisClient::ContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }

RedisClient::RedisClient(RedisConfig config) : config_(std::move(config)) {
  validate(config_);
  connect();
}

RedisClient::~RedisClient() = default;
RedisClient::RedisClient(RedisClient&&) noexcept = default;
RedisClient& RedisClient::operator=(RedisClient&&) noexcept = default;

std::string RedisClient::address() const {
  return config_.host + ":" + std::to_string(config_.port);
}

void RedisClient::disconnect() noexcept { ctx_.reset(); }

void RedisClient::connect() {
  ctx_.reset();
  SigpipeGuard guard;
  redisContext* c = redisConnectWithTimeout(config_.host.c_str(), config_.port,
                                            to_timeval(config_.connect_timeout));
  if (c == nullptr)
    throw RedisError(RedisErrorKind::kUnreachable,
                     "cannot connect to Redis at " + address() + ": out of memory");
  ContextPtr owned(c);
  if (c->err != 0)
    throw RedisError(RedisErrorKind::kUnreachable,
                     "cannot connect to Redis at " + address() + " (connect timeout " +
                         std::to_string(config_.connect_timeout.count()) + " ms): " + c->errstr +
                         "; is redis-server running there? (config: storage.redis.host/port)");
  if (redisSetTimeout(c, to_timeval(config_.command_timeout)) != REDIS_OK)
    throw RedisError(
        RedisErrorKind::kUnreachable,
        "cannot set the command timeout on the connection to " + address() + ": " + c->errstr);
  ctx_ = std::move(owned);
  bool broken = false;
  if (!config_.password.empty()) {
    std::vector<std::string_view> argv{"AUTH"};
    if (!config_.username.empty()) argv.push_back(config_.username);
    argv.push_back(config_.password);
    try {
      run_once(argv, std::chrono::milliseconds(0), broken);
    } catch (const RedisError& e) {
      ctx_.reset();
      if (e.kind() != RedisErrorKind::kServer && e.kind() != RedisErrorKind::kAuth) throw;
      throw RedisError(RedisErrorKind::kAuth,
                       "Redis at " + address() + " rejected the password" +
                           (config_.username.empty() ? "" : " of user '" + config_.username + "'") +
                           " (" + e.what() +
                           "): check storage.redis.password or HPCLESS_REDIS_PASSWORD");
    }
  }
  if (config_.db != 0) {
    try {
      run_once({"SELECT", std::to_string(config_.db)}, std::chrono::milliseconds(0), broken);
    } catch (const RedisError& e) {
      ctx_.reset();
      if (e.kind() != RedisErrorKind::kServer) throw;
      throw RedisError(RedisErrorKind::kServer, "Redis at " + address() + " refused SELECT " +
                                                    std::to_string(config_.db) + " (" + e.what() +
                                                    "): check storage.redis.db");
    }
  }
}

namespace {

RedisReply convert(const redisReply* r, const std::string& where) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_NIL:
      out.type = RedisReply::Type::kNil;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i], where));
      break;
    case REDIS_REPLY_ERROR: {
      const std::string msg(r->str, r->len);
      RedisErrorKind kind = RedisErrorKind::kServer;
      if (msg.rfind("WRONGTYPE", 0) == 0)
        kind = RedisErrorKind::kWrongType;
      else if (msg.rfind("NOAUTH", 0) == 0 || msg.rfind("WRONGPASS", 0) == 0)
        kind = RedisErrorKind::kAuth;
      std::string hint;
      if (msg.rfind("NOAUTH", 0) == 0)
        hint =
            ": the server requires a password (set storage.redis.password or "
            "HPCLESS_REDIS_PASSWORD)";
      throw RedisError(kind, where + " failed: " + msg + hint);
    }
    default:
      throw RedisError(RedisErrorKind::kProtocol,
                       where + ": unexpected reply type " + std::to_string(r->type));
  }
  return out;
}

}  // namespace

RedisReply RedisClient::run_once(const std::vector<std::string_view>& argv,
                                 std::chrono::milliseconds extra_wait, bool& connection_broken) {
  connection_broken = false;
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  const std::chrono::milliseconds wait = config_.command_timeout + extra_wait;
  redisContext* c = ctx_.get();
  const std::string where = "Redis " + command_name(argv) + " at " + address();
  if (extra_wait.count() > 0 && redisSetTimeout(c, to_timeval(wait)) != REDIS_OK) {
    ctx_.reset();
    connection_broken = true;
    throw RedisError(RedisErrorKind::kConnectionLost, where + ": cannot set the reply timeout");
  }
  SigpipeGuard guard;
  errno = 0;
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data())));
  const int saved_errno = errno;
  if (!reply) {
    const int err = c->err;
    const std::string errstr = c->errstr;
    ctx_.reset();  // unusable after any error; a late reply must not answer the next command
    const bool timeout =
        err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                                errstr.find("temporarily unavailable") != std::string::npos);
    if (timeout)
      throw RedisError(RedisErrorKind::kTimeout,
                       where + ": no reply within " + std::to_string(wait.count()) +
                           " ms (storage.redis.command_timeout_ms); the connection was closed");
    connection_broken = true;
    throw RedisError(RedisErrorKind::kConnectionLost,
                     where + ": connection lost (" + errstr +
                         "); the command may or may not have run. The next call reconnects.");
  }
  if (extra_wait.count() > 0 && redisSetTimeout(c, to_timeval(config_.command_timeout)) != REDIS_OK)
    ctx_.reset();
  return convert(reply.get(), where);
}

RedisReply RedisClient::run(const std::vector<std::string_view>& argv, Idempotent idempotent,
                            std::chrono::milliseconds extra_wait) {
  HPCLESS_CHECK(!argv.empty(), "a Redis command needs a name");
  const bool had_connection = ctx_ != nullptr;
  if (!ctx_) connect();
  bool broken = false;
  try {
    return run_once(argv, extra_wait, broken);
  } catch (const RedisError&) {
    // A connection that was already open may have died while idle (server restart, idle
    // timeout): one fresh connection for commands that are safe to repeat.
    if (!broken || !had_connection || idempotent == Idempotent::kNo) throw;
  }
  connect();
  return run_once(argv, extra_wait, broken);
}

void RedisClient::ping() {
  const RedisReply r = run({"PING"}, Idempotent::kYes);
  if (r.type != RedisReply::Type::kStatus || r.str != "PONG")
    throw RedisError(RedisErrorKind::kProtocol,
                     "Redis at " + address() + " answered PING with '" + printable(r.str) + "'");
}

namespace {

std::optional<std::string> string_or_nil(RedisReply&& r, const std::string& where) {
  if (r.type == RedisReply::Type::kNil) return std::nullopt;
  if (r.type != RedisReply::Type::kString)
    throw RedisError(RedisErrorKind::kProtocol, where + ": expected a string reply");
  return std::move(r.str);
}

int64_t integer(const RedisReply& r, const std::string& where) {
  if (r.type != RedisReply::Type::kInteger)
    throw RedisError(RedisErrorKind::kProtocol, where + ": expected an integer reply");
  return r.integer;
}

std::string ttl_ms(std::optional<std::chrono::milliseconds> ttl) {
  if (ttl->count() <= 0)
    throw ConfigError("Redis TTL must be > 0 ms, got " + std::to_string(ttl->count()));
  return std::to_string(ttl->count());
}

}  // namespace

std::optional<std::string> RedisClient::get(std::string_view key) {
  return string_or_nil(run({"GET", key}, Idempotent::kYes), "Redis GET " + printable(key));
}

void RedisClient::set(std::string_view key, std::string_view value,
                      std::optional<std::chrono::milliseconds> ttl) {
  if (ttl) {
    const std::string ms = ttl_ms(ttl);
    run({"SET", key, value, "PX", ms}, Idempotent::kYes);
  } else {
    run({"SET", key, value}, Idempotent::kYes);
  }
}

bool RedisClient::set_if_absent(std::string_view key, std::string_view value,
                                std::optional<std::chrono::milliseconds> ttl) {
  RedisReply r;
  if (ttl) {
    const std::string ms = ttl_ms(ttl);
    r = run({"SET", key, value, "NX", "PX", ms}, Idempotent::kNo);
  } else {
    r = run({"SET", key, value, "NX"}, Idempotent::kNo);
  }
  return r.type == RedisReply::Type::kStatus;
}

int64_t RedisClient::del(std::string_view key) {
  return integer(run({"DEL", key}, Idempotent::kYes), "Redis DEL");
}

int64_t RedisClient::del(const std::vector<std::string>& keys) {
  if (keys.empty()) return 0;
  std::vector<std::string_view> argv{"DEL"};
  for (const auto& k : keys) argv.push_back(k);
  return integer(run(argv, Idempotent::kYes), "Redis DEL");
}

bool RedisClient::exists(std::string_view key) {
  return integer(run({"EXISTS", key}, Idempotent::kYes), "Redis EXISTS") > 0;
}

int64_t RedisClient::incr(std::string_view key) {
  return integer(run({"INCR", key}, Idempotent::kNo), "Redis INCR");
}

int64_t RedisClient::incrby(std::string_view key, int64_t delta) {
  const std::string d = std::to_string(delta);
  return integer(run({"INCRBY", key, d}, Idempotent::kNo), "Redis INCRBY");
}

bool RedisClient::expire(std::string_view key, std::chrono::milliseconds ttl) {
  const std::string ms = ttl_ms(ttl);
  return integer(run({"PEXPIRE", key, ms}, Idempotent::kYes), "Redis PEXPIRE") == 1;
}

std::optional<std::chrono::milliseconds> RedisClient::pttl(std::string_view key) {
  const int64_t ms = integer(run({"PTTL", key}, Idempotent::kYes), "Redis PTTL");
  if (ms < 0) return std::nullopt;  // -2: no such key, -1: no TTL
  return std::chrono::milliseconds(ms);
}

std::vector<std::string> RedisClient::scan_keys(std::string_view prefix, int count_hint) {
  std::string pattern;
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('*');
  const std::string count = std::to_string(count_hint > 0 ? count_hint : 1000);
  std::string cursor = "0";
  std::unordered_set<std::string> seen;
  std::vector<std::string> keys;
  do {
    RedisReply r = run({"SCAN", cursor, "MATCH", pattern, "COUNT", count}, Idempotent::kYes);
    if (r.type != RedisReply::Type::kArray || r.elements.size() != 2 ||
        r.elements[0].type != RedisReply::Type::kString ||
        r.elements[1].type != RedisReply::Type::kArray)
      throw RedisError(RedisErrorKind::kProtocol,
                       "Redis SCAN at " + address() + ": malformed reply");
    cursor = r.elements[0].str;
    for (auto& k : r.elements[1].elements) {
      if (seen.insert(k.str).second) keys.push_back(std::move(k.str));
    }
  } while (cursor != "0");
  return keys;
}

int64_t RedisClient::rpush(std::string_view key, std::string_view value) {
  return integer(run({"RPUSH", key, value}, Idempotent::kNo), "Redis RPUSH");
}

int64_t RedisClient::lpush(std::string_view key, std::string_view value) {
  return integer(run({"LPUSH", key, value}, Idempotent::kNo), "Redis LPUSH");
}

std::optional<std::string> RedisClient::lpop(std::string_view key) {
  return string_or_nil(run({"LPOP", key}, Idempotent::kNo), "Redis LPOP");
}

int64_t RedisClient::llen(std::string_view key) {
  return integer(run({"LLEN", key}, Idempotent::kYes), "Redis LLEN");
}

std::optional<std::string> RedisClient::blpop(std::string_view key,
                                              std::chrono::milliseconds timeout) {
  auto r = blpop(std::vector<std::string>{std::string(key)}, timeout);
  if (!r) return std::nullopt;
  return std::move(r->second);
}

std::optional<std::pair<std::string, std::string>> RedisClient::blpop(
    const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  // BLPOP 0 would block forever: every wait in hpcless has a deadline.
  if (timeout.count() <= 0)
    throw ConfigError("Redis BLPOP timeout must be > 0 ms, got " + std::to_string(timeout.count()));
  if (keys.empty()) throw ConfigError("Redis BLPOP needs at least one key");
  const std::string seconds = millis_as_seconds(timeout);
  std::vector<std::string_view> argv{"BLPOP"};
  for (const auto& k : keys) argv.push_back(k);
  argv.push_back(seconds);
  RedisReply r = run(argv, Idempotent::kNo, timeout);
  if (r.type == RedisReply::Type::kNil) return std::nullopt;
  if (r.type != RedisReply::Type::kArray || r.elements.size() != 2)
    throw RedisError(RedisErrorKind::kProtocol,
                     "Redis BLPOP at " + address() + ": malformed reply");
  return std::make_pair(std::move(r.elements[0].str), std::move(r.elements[1].str));
}

bool RedisClient::hset(std::string_view key, std::string_view field, std::string_view value) {
  return integer(run({"HSET", key, field, value}, Idempotent::kYes), "Redis HSET") == 1;
}

std::optional<std::string> RedisClient::hget(std::string_view key, std::string_view field) {
  return string_or_nil(run({"HGET", key, field}, Idempotent::kYes), "Redis HGET");
}

std::map<std::string, std::string> RedisClient::hgetall(std::string_view key) {
  RedisReply r = run({"HGETALL", key}, Idempotent::kYes);
  if (r.type != RedisReply::Type::kArray || r.elements.size() % 2 != 0)
    throw RedisError(RedisErrorKind::kProtocol,
                     "Redis HGETALL at " + address() + ": malformed reply");
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out.emplace(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
  return out;
}

RedisReply RedisClient::command(const std::vector<std::string>& argv, Idempotent idempotent) {
  if (argv.empty()) throw ConfigError("Redis command needs at least the command name");
  std::vector<std::string_view> views(argv.begin(), argv.end());
  return run(views, idempotent);
}

RedisReply RedisClient::command(std::initializer_list<std::string_view> argv,
                                Idempotent idempotent) {
  if (argv.size() == 0) throw ConfigError("Redis command needs at least the command name");
  return run(std::vector<std::string_view>(argv), idempotent);
}

}  // namespace hpcless::storage
