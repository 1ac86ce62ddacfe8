// Small pieces both executor daemons share: epoll registration, the ready file, stop signals.
#pragma once

#include <cstdint>
#include <string>

#include "comm/base/fd.hpp"

namespace hpcless::executor {

void epoll_add(int epoll_fd, int fd, uint32_t events, uint64_t tag);
void epoll_del(int epoll_fd, int fd) noexcept;

// Writes `text` to `path` atomically (temporary file + rename), so a script polling for the file
// never reads half of it. No-op when `path` is empty.
void write_ready_file(const std::string& path, const std::string& text);

// Blocks SIGINT and SIGTERM (and ignores SIGPIPE) and returns a signalfd that reports them.
UniqueFd stop_signal_fd();

}  // namespace hpcless::executor
