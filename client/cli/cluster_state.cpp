#include "client/cli/cluster_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "comm/base/error.hpp"
#include "comm/base/fd.hpp"
#include "comm/base/json.hpp"

namespace hpcless::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_atomically(const fs::path& path, const std::string& content, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) throw ConfigError("cannot create '" + tmp.string() + "': " + std::strerror(errno));
  ::fchmod(fd.get(), mode);  // O_CREAT's mode only applies to a new file
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ConfigError("cannot write '" + tmp.string() + "': " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw ConfigError("cannot rename '" + tmp.string() + "': " + std::strerror(errno));
}

}  // namespace

fs::path state_path(const fs::path& dir) { return dir / "cluster.json"; }

void write_private_file(const fs::path& path, const std::string& content) {
  write_atomically(path, content, 0600);
}

void save_state(const ClusterState& s) {
  json procs = json::array();
  for (const auto& p : s.processes) {
    procs.push_back({{"role", p.role},
                     {"name", p.name},
                     {"pid", p.id.pid},
                     {"start_time", p.id.start_time},
                     {"log", p.log},
                     {"netns", p.netns.empty() ? json(nullptr) : json(p.netns)},
                     {"address", p.address}});
  }
  json namespaces = json::array();
  for (const auto& p : s.processes)
    if (!p.netns.empty()) namespaces.push_back(p.netns);
  const json j = {{"schema", "hpcless.cluster.v1"},
                  {"dir", fs::absolute(s.dir).string()},
                  {"manager_url", s.manager_url},
                  {"api_token_file", s.api_token_file},
                  {"token_secret_file", s.token_secret_file},
                  {"env_file", s.env_file},
                  {"nodes", s.nodes},
                  {"cores_per_node", s.cores_per_node},
                  {"netns", s.netns},
                  {"net_id", s.netns ? json(s.net_id) : json(nullptr)},
                  {"namespaces", namespaces},
                  {"created_utc", s.created_utc},
                  {"processes", procs}};
  write_atomically(state_path(s.dir), j.dump(2) + "\n", 0644);
}

std::optional<ClusterState> load_state(const fs::path& dir) {
  const fs::path path = state_path(dir);
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    throw ConfigError("cannot read '" + path.string() + "'");
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) throw ConfigError("'" + path.string() + "' is not a cluster state file");
  try {
    ClusterState s;
    s.dir = dir;
    s.manager_url = j.value("manager_url", "");
    s.api_token_file = j.value("api_token_file", "");
    s.token_secret_file = j.value("token_secret_file", "");
    s.env_file = j.value("env_file", "");
    s.nodes = j.value("nodes", 0);
    s.cores_per_node = j.value("cores_per_node", 0);
    s.netns = j.value("netns", false);
    if (s.netns) s.net_id = j.at("net_id").get<int>();
    s.created_utc = j.value("created_utc", "");
    for (const auto& p : j.at("processes")) {
      ClusterProcess cp;
      cp.role = p.at("role").get<std::string>();
      cp.name = p.at("name").get<std::string>();
      cp.id.pid = p.at("pid").get<pid_t>();
      cp.id.start_time = p.at("start_time").get<uint64_t>();
      cp.log = p.value("log", "");
      if (p.contains("netns") && p["netns"].is_string()) cp.netns = p["netns"].get<std::string>();
      cp.address = p.value("address", "");
      s.processes.push_back(std::move(cp));
    }
    return s;
  } catch (const json::exception& e) {
    throw ConfigError("'" + path.string() + "' is malformed: " + e.what());
  }
}

}  // namespace hpcless::cli
