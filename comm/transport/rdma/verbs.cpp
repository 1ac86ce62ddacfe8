#include "comm/transport/rdma/verbs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "comm/base/error.hpp"

namespace hpcless::rdma {

namespace {
std::string errno_text(int err) { return err == 0 ? "unknown error" : std::strerror(err); }

std::string limit_text(rlim_t v) {
  return v == RLIM_INFINITY ? "unlimited" : std::to_string(v / 1024) + " KiB";
}
}  // namespace

void throw_rdma_error(std::string_view what, int err) {
  throw IoError(std::string(what) + ": " + errno_text(err));
}

std::string registration_failure(size_t bytes, int err) {
  std::string msg = "registering " + std::to_string(bytes) + " bytes of RDMA memory failed (" +
                    errno_text(err) + ")";
  rlimit lim{};
  if ((err == ENOMEM || err == EPERM || err == EAGAIN) && getrlimit(RLIMIT_MEMLOCK, &lim) == 0 &&
      lim.rlim_cur != RLIM_INFINITY) {
    msg += ": the locked-memory limit (ulimit -l) is " + limit_text(lim.rlim_cur) +
           ". Raise it: 'ulimit -l unlimited' in the shell that starts hpcless, '* - memlock "
           "unlimited' in /etc/security/limits.conf, LimitMEMLOCK=infinity for a systemd unit, "
           "or PropagateResourceLimitsExcept=MEMLOCK with an unlimited slurmd under Slurm";
  }
  return msg;
}

std::string no_device_message(std::string_view address, int err) {
  return "no RDMA device serves address " + std::string(address) + " (" + errno_text(err) +
         "): 'ibv_devices' lists the devices and 'rdma link show' their network interfaces. Give "
         "an address of an interface with an RDMA device (for soft-RoCE: 'modprobe rdma_rxe; "
         "rdma link add rxe0 type rxe netdev IFACE'), or use transport tcp";
}

EventChannel::EventChannel() {
  ch_ = rdma_create_event_channel();
  if (ch_ == nullptr) {
    const int err = errno;
    if (err == ENODEV || err == ENOENT)
      throw IoError("no RDMA device on this host (rdma_create_event_channel: " + errno_text(err) +
                    "): the rdma_ucm module is not loaded or no device exists; 'ibv_devices' "
                    "lists devices. Use transport tcp, or load a driver (soft-RoCE: 'modprobe "
                    "rdma_rxe rdma_ucm')");
    throw_rdma_error("rdma_create_event_channel", err);
  }
  const int flags = fcntl(ch_->fd, F_GETFL);
  if (flags < 0 || fcntl(ch_->fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(ch_->fd, F_SETFD, FD_CLOEXEC) != 0) {
    const int err = errno;
    rdma_destroy_event_channel(ch_);
    throw_rdma_error("setting up the RDMA event channel", err);
  }
}

EventChannel::~EventChannel() {
  if (ch_ != nullptr) rdma_destroy_event_channel(ch_);
}

CmEvent next_event(const EventChannel& ch) {
  rdma_cm_event* e = nullptr;
  if (rdma_get_cm_event(ch.get(), &e) == 0) return CmEvent(e);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return CmEvent();
  throw_rdma_error("rdma_get_cm_event", errno);
}

CmEvent wait_event(const EventChannel& ch, Deadline deadline, std::string_view what) {
  while (true) {
    if (CmEvent e = next_event(ch)) return e;
    if (deadline.expired())
      throw TimeoutError(std::string(what) + " timed out (no answer from the RDMA peer)");
    pollfd p{ch.fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, deadline.remaining_ms());
    if (n < 0 && errno != EINTR) throw_rdma_error("poll on the RDMA event channel", errno);
  }
}

CmId::CmId(const EventChannel& ch, void* context) {
  if (rdma_create_id(ch.get(), &id_, context, RDMA_PS_TCP) != 0) {
    id_ = nullptr;
    throw_rdma_error("rdma_create_id", errno);
  }
}

void CmId::reset() noexcept {
  if (id_ != nullptr) rdma_destroy_id(id_);
  id_ = nullptr;
}

ProtectionDomain::ProtectionDomain(ibv_context* ctx) {
  pd_ = ibv_alloc_pd(ctx);
  if (pd_ == nullptr) throw_rdma_error("ibv_alloc_pd", errno);
}

ProtectionDomain::~ProtectionDomain() {
  if (pd_ != nullptr) ibv_dealloc_pd(pd_);
}

CompletionChannel::CompletionChannel(ibv_context* ctx) {
  ch_ = ibv_create_comp_channel(ctx);
  if (ch_ == nullptr) throw_rdma_error("ibv_create_comp_channel", errno);
  const int flags = fcntl(ch_->fd, F_GETFL);
  if (flags < 0 || fcntl(ch_->fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
      fcntl(ch_->fd, F_SETFD, FD_CLOEXEC) != 0) {
    const int err = errno;
    ibv_destroy_comp_channel(ch_);
    throw_rdma_error("setting up the completion channel", err);
  }
}

CompletionChannel::~CompletionChannel() {
  if (ch_ != nullptr) ibv_destroy_comp_channel(ch_);
}

CompletionQueue::CompletionQueue(ibv_context* ctx, int entries, ibv_comp_channel* channel) {
  cq_ = ibv_create_cq(ctx, entries, nullptr, channel, 0);
  if (cq_ == nullptr) throw_rdma_error("ibv_create_cq(" + std::to_string(entries) + ")", errno);
}

void CompletionQueue::ack_events() noexcept {
  if (unacked_ > 0) ibv_ack_cq_events(cq_, unacked_);
  unacked_ = 0;
}

CompletionQueue::~CompletionQueue() {
  if (cq_ == nullptr) return;
  ack_events();
  ibv_destroy_cq(cq_);
}

RegisteredBuffer::RegisteredBuffer(ibv_pd* pd, size_t bytes, int access) : bytes_(bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw_system_error("mmap of " + std::to_string(bytes) + " bytes");
  data_ = static_cast<std::byte*>(p);
  mr_ = ibv_reg_mr(pd, data_, bytes, access);
  if (mr_ == nullptr) {
    const int err = errno;
    munmap(data_, bytes_);
    throw IoError(registration_failure(bytes, err));
  }
}

RegisteredBuffer::~RegisteredBuffer() {
  if (mr_ != nullptr) ibv_dereg_mr(mr_);
  if (data_ != nullptr) munmap(data_, bytes_);
}

QueuePair::QueuePair(rdma_cm_id* id, ibv_pd* pd, ibv_qp_init_attr& attr) : id_(id) {
  if (rdma_create_qp(id, pd, &attr) != 0) throw_rdma_error("rdma_create_qp", errno);
}

QueuePair::~QueuePair() { rdma_destroy_qp(id_); }

}  // namespace hpcless::rdma
