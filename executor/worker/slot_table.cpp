#include "executor/worker/slot_table.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <utility>

#include "comm/base/error.hpp"

namespace hpcless::executor {

namespace {
SlotTable* map_table(int fd) {
  void* p = mmap(nullptr, sizeof(SlotTable), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw_system_error("mmap of the worker slot table");
  return static_cast<SlotTable*>(p);
}
}  // namespace

SharedSlots SharedSlots::create() {
  SharedSlots s;
  s.fd_.reset(memfd_create("hpcless-slots", MFD_CLOEXEC));
  if (!s.fd_) throw_system_error("memfd_create for the worker slot table");
  if (ftruncate(s.fd_.get(), sizeof(SlotTable)) != 0) throw_system_error("ftruncate slot table");
  s.table_ = new (map_table(s.fd_.get())) SlotTable();
  return s;
}

SharedSlots SharedSlots::attach(int fd) {
  SharedSlots s;
  s.fd_.reset(fd);
  s.table_ = map_table(fd);
  return s;
}

SharedSlots::SharedSlots(SharedSlots&& o) noexcept
    : fd_(std::move(o.fd_)), table_(std::exchange(o.table_, nullptr)) {}

SharedSlots::~SharedSlots() {
  if (table_ != nullptr) munmap(table_, sizeof(SlotTable));
}

void SharedSlots::clear() noexcept {
  for (auto& s : table_->slots) {
    s.state.store(0, std::memory_order_relaxed);
    s.conn_id.store(0, std::memory_order_relaxed);
    s.request_id.store(0, std::memory_order_relaxed);
    s.busy_ns.store(0, std::memory_order_relaxed);
    s.idle_ns.store(0, std::memory_order_relaxed);
    s.invocations.store(0, std::memory_order_relaxed);
    s.errors.store(0, std::memory_order_relaxed);
  }
}

}  // namespace hpcless::executor
