// A thin RAII layer over the SQLite C API: a connection, prepared statements, transactions.
// Errors throw DatabaseError with SQLite's message and (extended) result code.
// Thread safety: none; the owner serializes all use (the manager uses one connection under one
// mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "comm/base/error.hpp"

namespace hpcless::manager::sqlite {

class DatabaseError : public Error {
 public:
  DatabaseError(const std::string& what, int code) : Error(what), code_(code) {}
  int code() const noexcept {
    return code_;
  }  // extended result code, e.g. SQLITE_CONSTRAINT_PRIMARYKEY
  bool is_constraint() const noexcept { return (code_ & 0xff) == SQLITE_CONSTRAINT; }

 private:
  int code_;
};

class Database {
 public:
  // Opens (creating if missing) the database file in read-write mode.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const char* sql);          // one or more statements without results
  int64_t query_int(const char* sql);  // the first column of the first row (0 when no row)
  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }
  [[noreturn]] void fail(std::string_view what, int code) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Database& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view v);  // copied (SQLITE_TRANSIENT)
  Statement& bind(int i, const std::optional<int64_t>& v);
  Statement& bind(int i, const std::optional<std::string>& v);
  Statement& bind_null(int i);

  bool step();  // true: a row is available; false: done
  void run();   // steps a statement that returns no rows
  // Resets for the next use and clears bindings; also ends the implicit read transaction of a
  // SELECT, which must not stay open (it would pin the WAL).
  void reset() noexcept;

  bool is_null(int col) const;
  int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string column_text(int col) const;
  std::optional<int64_t> column_opt_int(int col) const;
  std::optional<std::string> column_opt_text(int col) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving a scope.
class ResetGuard {
 public:
  explicit ResetGuard(Statement& s) noexcept : s_(s) {}
  ~ResetGuard() { s_.reset(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  Statement& s_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception on the way).
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace hpcless::manager::sqlite
