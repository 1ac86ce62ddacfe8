#include "manager/store/sqlite.hpp"

#include "comm/base/log.hpp"

namespace hpcless::manager::sqlite {

Database::Database(const std::string& path) : path_(path) {
  const int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw DatabaseError("cannot open state database '" + path + "': " + msg +
                            " (check that the directory exists and is writable)",
                        rc);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  // All statements are finalized by their owners first; close_v2 copes if one is not.
  if (db_) sqlite3_close_v2(db_);
}

void Database::fail(std::string_view what, int code) const {
  std::string msg = "state database '" + path_ + "': " + std::string(what) + ": " +
                    sqlite3_errmsg(db_) + " (" + sqlite3_errstr(code) + ")";
  throw DatabaseError(msg, code);
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw DatabaseError("state database '" + path_ + "': " + msg + " (in: " + sql + ")", rc);
  }
}

int64_t Database::query_int(const char* sql) {
  Statement s(*this, sql);
  return s.step() ? s.column_int(0) : 0;
}

Statement::Statement(Database& db, const char* sql) : db_(db) {
  const int rc =
      sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) db_.fail(std::string("preparing '") + sql + "'", rc);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int i, int64_t v) {
  const int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK) db_.fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int i, double v) {
  const int rc = sqlite3_bind_double(stmt_, i, v);
  if (rc != SQLITE_OK) db_.fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  const int rc = sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.fail("bind", rc);
  return *this;
}

Statement& Statement::bind(int i, const std::optional<int64_t>& v) {
  return v ? bind(i, *v) : bind_null(i);
}

Statement& Statement::bind(int i, const std::optional<std::string>& v) {
  return v ? bind(i, std::string_view(*v)) : bind_null(i);
}

Statement& Statement::bind_null(int i) {
  const int rc = sqlite3_bind_null(stmt_, i);
  if (rc != SQLITE_OK) db_.fail("bind", rc);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(std::string("executing '") + sqlite3_sql(stmt_) + "'", rc);
}

void Statement::run() {
  ResetGuard g(*this);
  while (step()) {
  }
}

void Statement::reset() noexcept {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::column_text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::optional<int64_t> Statement::column_opt_int(int col) const {
  if (is_null(col)) return std::nullopt;
  return column_int(col);
}

std::optional<std::string> Statement::column_opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return column_text(col);
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (done_) return;
  char* err = nullptr;
  if (sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, &err) != SQLITE_OK) {
    // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL); nothing to undo.
    log::debug(std::string("state database: rollback: ") + (err ? err : "?"));
  }
  sqlite3_free(err);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace hpcless::manager::sqlite
