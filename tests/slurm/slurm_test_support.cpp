#include "tests/slurm/slurm_test_support.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "comm/base/clock.hpp"

namespace hpcless::stest {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

bool wait_file(const std::string& path, std::chrono::milliseconds timeout) {
  const Deadline d = Deadline::after(timeout);
  while (!d.expired()) {
    if (exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return exists(path);
}

std::string processes_matching(const std::string& pattern) {
  // The pattern is split ('[x]yz') so that this shell's own command line does not match.
  const std::string split = "[" + pattern.substr(0, 1) + "]" + pattern.substr(1);
  return test::shell("pgrep -af '" + split + "' || true", std::chrono::seconds(10)).output;
}

}  // namespace hpcless::stest
