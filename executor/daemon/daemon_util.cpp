#include "executor/daemon/daemon_util.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <cstdio>

#include "comm/base/error.hpp"

namespace hpcless::executor {

void epoll_add(int ep, int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) throw_system_error("epoll_ctl(ADD)");
}

void epoll_del(int ep, int fd) noexcept { epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr); }

void write_ready_file(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) throw_system_error("cannot write " + tmp);
  std::fprintf(f, "%s\n", text.c_str());
  std::fclose(f);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw_system_error("cannot rename " + tmp);
}

UniqueFd stop_signal_fd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) throw_system_error("sigprocmask");
  signal(SIGPIPE, SIG_IGN);
  UniqueFd fd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) throw_system_error("signalfd");
  return fd;
}

}  // namespace hpcless::executor
