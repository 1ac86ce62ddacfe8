// Key-value client over hiredis (synchronous, one TCP connection per client object).
//
// Values and keys are byte strings (std::string / std::string_view, binary-safe: every command is
// sent in argv form, never formatted). Every wait is bounded: connecting by
// RedisConfig::connect_timeout, each reply by RedisConfig::command_timeout, BLPOP by its own
// timeout plus command_timeout.
//
// Broken connections: when the connection is found broken, the client reconnects once and repeats
// the command if the command is idempotent (GET, SET, DEL, EXISTS, EXPIRE, HSET, HGET, HGETALL,
// SCAN, PING, LLEN, PTTL). Non-idempotent commands (INCR, INCRBY, RPUSH, LPUSH, LPOP, BLPOP)
// are not repeated: they throw RedisError(kConnectionLost), because the command may or may not have
// run; the next call reconnects. After a timeout the connection is dropped (a late reply would
// otherwise be read as the answer to the next command) and the next call reconnects.
//
// Thread safety: NOT thread-safe. Use one RedisClient per thread (connections are cheap); a client
// may be moved to another thread between calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "comm/base/error.hpp"
#include "comm/storage/storage_config.hpp"

struct redisContext;  // hiredis

namespace hpcless::storage {

enum class RedisErrorKind {
  kUnreachable,     // cannot connect to host:port (refused, DNS, connect timeout)
  kAuth,            // AUTH failed, or the server requires a password that was not configured
  kWrongType,       // WRONGTYPE: the key holds a different type
  kTimeout,         // no reply within the command timeout
  kConnectionLost,  // connection broke during a non-idempotent command
  kServer,          // any other error reply ("ERR ...", "OOM ..."); the message holds it
  kProtocol,        // unexpected reply type
};

std::string_view to_string(RedisErrorKind kind) noexcept;

class RedisError : public Error {
 public:
  RedisError(RedisErrorKind kind, const std::string& message);
  RedisErrorKind kind() const noexcept { return kind_; }

 private:
  RedisErrorKind kind_;
};

// A reply as a value (copied out of hiredis). Error replies never appear here: they throw.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // kString (bulk string, binary-safe) and kStatus ("OK", "PONG")
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool is_nil() const noexcept { return type == Type::kNil; }
};

// Whether command() may be repeated after a reconnect (see the header comment).
enum class Idempotent { kNo, kYes };

class RedisClient {
 public:
  // Connects, authenticates (when a password is set) and selects the db. Throws RedisError
  // (kUnreachable, kAuth, kServer for a bad db) or ConfigError for an invalid config.
  explicit RedisClient(RedisConfig config);
  ~RedisClient();
  RedisClient(RedisClient&&) noexcept;
  RedisClient& operator=(RedisClient&&) noexcept;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  const RedisConfig& config() const noexcept { return config_; }
  // "127.0.0.1:6379" (for messages).
  std::string address() const;
  // True while a connection is open (it may still turn out broken on the next command).
  bool connected() const noexcept { return ctx_ != nullptr; }

  void ping();

  // --- strings ---
  std::optional<std::string> get(std::string_view key);
  // SET key value [PX ttl]. A ttl must be > 0.
  void set(std::string_view key, std::string_view value,
           std::optional<std::chrono::milliseconds> ttl = std::nullopt);
  // SET key value NX [PX ttl]: true when the key was set (it did not exist).
  bool set_if_absent(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl = std::nullopt);
  int64_t del(std::string_view key);  // number of keys removed (0 or 1)
  int64_t del(const std::vector<std::string>& keys);
  bool exists(std::string_view key);
  int64_t incr(std::string_view key);
  int64_t incrby(std::string_view key, int64_t delta);
  // PEXPIRE: true when the key exists and the timeout was set.
  bool expire(std::string_view key, std::chrono::milliseconds ttl);
  // Remaining time to live; std::nullopt when the key does not exist or has no TTL.
  std::optional<std::chrono::milliseconds> pttl(std::string_view key);

  // Every key starting with `prefix` (SCAN with MATCH, glob characters in the prefix escaped;
  // never KEYS). Order unspecified; a key is reported once even if SCAN returns it twice.
  std::vector<std::string> scan_keys(std::string_view prefix, int count_hint = 1000);

  // --- lists ---
  int64_t rpush(std::string_view key, std::string_view value);  // new list length
  int64_t lpush(std::string_view key, std::string_view value);
  std::optional<std::string> lpop(std::string_view key);
  int64_t llen(std::string_view key);
  // Blocks in the server (no polling) until an element can be popped from `key` or `timeout`
  // passes (returns std::nullopt). timeout must be > 0 (resolution 1 ms; Redis >= 6).
  std::optional<std::string> blpop(std::string_view key, std::chrono::milliseconds timeout);
  // Same over several keys: {key, value} of the first list that had an element.
  std::optional<std::pair<std::string, std::string>> blpop(const std::vector<std::string>& keys,
                                                           std::chrono::milliseconds timeout);

  // --- hashes ---
  // true when the field is new.
  bool hset(std::string_view key, std::string_view field, std::string_view value);
  std::optional<std::string> hget(std::string_view key, std::string_view field);
  std::map<std::string, std::string> hgetall(std::string_view key);

  // Escape hatch: any command in argv form, e.g. command({"XADD", "s", "*", "f", "v"}).
  // Error replies throw RedisError; everything else is returned as a typed reply.
  RedisReply command(const std::vector<std::string>& argv, Idempotent idempotent = Idempotent::kNo);
  RedisReply command(std::initializer_list<std::string_view> argv,
                     Idempotent idempotent = Idempotent::kNo);

  // Closes the connection now (the next call reconnects).
  void disconnect() noexcept;

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const noexcept;
  };
  using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

  void connect();
  RedisReply run(const std::vector<std::string_view>& argv, Idempotent idempotent,
                 std::chrono::milliseconds extra_wait = std::chrono::milliseconds(0));
  RedisReply run_once(const std::vector<std::string_view>& argv,
                      std::chrono::milliseconds extra_wait, bool& connection_broken);

  RedisConfig config_;
  ContextPtr ctx_;
};

}  // namespace hpcless::storage
