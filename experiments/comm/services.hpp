// Throwaway storage servers for `hpcless experiment comm --start-services`: a redis-server and an
// s3rver (S3 in Node.js, from tests/s3 or $HPCLESS_S3RVER) on free loopback ports, each with its
// data and log under one folder, plus a config file whose "storage" section points at them (what
// the redis and s3 channels read). Both are stopped (SIGTERM, then SIGKILL) by the destructor and
// die with the thread that started them (PR_SET_PDEATHSIG).
//
// Thread safety: one owner thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace hpcless::experiments::comm_bench {

class LocalServices {
 public:
  // Starts both servers under `dir` (created) and writes dir/services.json. Waits until Redis
  // answers PING and the bucket `bucket` exists on s3rver (20 s each). Throws ConfigError when a
  // program is missing, Error when a server does not start (with its log's tail).
  LocalServices(const std::filesystem::path& dir, const std::string& bucket = "hpcless-bench");
  ~LocalServices();
  LocalServices(const LocalServices&) = delete;
  LocalServices& operator=(const LocalServices&) = delete;

  const std::filesystem::path& config_path() const noexcept { return config_; }
  int redis_port() const noexcept { return redis_port_; }
  int s3_port() const noexcept { return s3_port_; }

 private:
  void stop(pid_t& pid);

  std::filesystem::path dir_;
  std::filesystem::path config_;
  pid_t redis_pid_ = -1;
  pid_t s3_pid_ = -1;
  int redis_port_ = 0;
  int s3_port_ = 0;
};

}  // namespace hpcless::experiments::comm_bench
