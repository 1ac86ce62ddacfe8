// RdmaLink over a real device (soft-RoCE in the test guest): framing, fragments, credits,
// hot and warm waits, limits and failures.
#include <gtest/gtest.h>

#include <numeric>
#include <thread>
#include <vector>

#include "comm/protocol/frame.hpp"
#include "tests/rdma/link_pair.hpp"

namespace hpcless {
namespace {

using transport::RecvStatus;
using transport::SendStatus;

std::vector<std::byte> pattern(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed) & 0xFF);
  return v;
}

protocol::Header invoke_header(uint64_t id, size_t len) {
  protocol::Header h;
  h.type = protocol::MessageType::kInvoke;
  h.request_id = id;
  h.function_id = 3;
  h.payload_len = static_cast<uint32_t>(len);
  return h;
}

// Receives one frame within 10 s (hot polling).
RecvStatus recv_one(rdma::RdmaLink& l) {
  const auto d = Deadline::after(std::chrono::seconds(10));
  while (true) {
    const auto r = l.try_recv();
    if (r != RecvStatus::kAgain) return r;
    if (d.expired()) return RecvStatus::kAgain;
  }
}

TEST(RdmaLink, SizesAcrossInlineSlotAndFragmentBoundaries) {
  auto p = test::connect_pair();
  EXPECT_GT(p.client->inline_capacity(), 0u) << "soft-RoCE offers inline data";
  const size_t slot = rdma::LinkOptions{}.slot_bytes;
  for (size_t n : {size_t{0}, size_t{1}, size_t{64}, size_t{200}, size_t{1000}, size_t{65536},
                   slot - protocol::kHeaderSize, slot, slot + 1, size_t{1} << 20,
                   (size_t{4} << 20) + 17}) {
    SCOPED_TRACE(n);
    const auto data = pattern(n, static_cast<uint8_t>(n));
    // Both directions, as a request and its reply; the receiver consumes as frames complete, so
    // a message larger than the whole receive region needs credits returned mid-message: send
    // from a thread.
    std::thread sender([&] {
      ASSERT_EQ(p.client->send_frame(invoke_header(n + 1, n), data,
                                     Deadline::after(std::chrono::seconds(20))),
                SendStatus::kOk);
    });
    ASSERT_EQ(recv_one(*p.server), RecvStatus::kFrame);
    sender.join();
    EXPECT_EQ(p.server->header().request_id, n + 1);
    EXPECT_EQ(p.server->header().function_id, 3u);
    ASSERT_EQ(p.server->payload().size(), n);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), p.server->payload().begin()));
    p.server->consume();
  }
}

TEST(RdmaLink, PipelinedFramesBeyondTheCreditWindowArriveInOrder) {
  rdma::LinkOptions small;
  small.slots = 4;  // credits run out after 4 frames: the sender must wait for returns
  small.slot_bytes = 8192;
  auto p = test::connect_pair(small, small);
  constexpr int kFrames = 500;
  std::thread sender([&] {
    for (int i = 0; i < kFrames; ++i) {
      const auto data = pattern(static_cast<size_t>(i * 37 % 20000), static_cast<uint8_t>(i));
      ASSERT_EQ(p.client->send_frame(invoke_header(static_cast<uint64_t>(i), data.size()), data,
                                     Deadline::after(std::chrono::seconds(20))),
                SendStatus::kOk);
    }
  });
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_EQ(recv_one(*p.server), RecvStatus::kFrame) << i;
    ASSERT_EQ(p.server->header().request_id, static_cast<uint64_t>(i));
    const auto want = pattern(static_cast<size_t>(i * 37 % 20000), static_cast<uint8_t>(i));
    ASSERT_TRUE(std::equal(want.begin(), want.end(), p.server->payload().begin(),
                           p.server->payload().end()));
    p.server->consume();
  }
  sender.join();
}

TEST(RdmaLink, BothSidesSendingAtOnceDoNotDeadlock) {
  rdma::LinkOptions small;
  small.slots = 2;
  small.slot_bytes = 4096;
  auto p = test::connect_pair(small, small);
  // Each side sends 200 frames while only draining the other side from its blocked hook.
  auto run = [](rdma::RdmaLink& me, int& got) {
    auto drain = [&](Deadline) {
      while (me.try_recv() == RecvStatus::kFrame) {
        ++got;
        me.consume();
      }
      return true;
    };
    const auto data = pattern(10000, 1);
    for (int i = 0; i < 200; ++i)
      if (me.send_frame(invoke_header(static_cast<uint64_t>(i), data.size()), data,
                        Deadline::after(std::chrono::seconds(20)), drain) != SendStatus::kOk)
        return false;
    const auto d = Deadline::after(std::chrono::seconds(20));
    while (got < 200 && !d.expired()) drain(d);
    return got == 200;
  };
  int got_c = 0, got_s = 0;
  auto fc = std::async(std::launch::async, [&] { return run(*p.client, got_c); });
  const bool server_ok = run(*p.server, got_s);
  EXPECT_TRUE(server_ok);
  EXPECT_TRUE(fc.get());
}

TEST(RdmaLink, WarmWaitWakesOnAFrame) {
  auto p = test::connect_pair();
  p.server->set_busy_poll(false);
  EXPECT_FALSE(p.server->wait_readable(Deadline::after(std::chrono::milliseconds(50))));
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto data = pattern(64, 9);
    EXPECT_EQ(p.client->send_frame(invoke_header(7, 64), data,
                                   Deadline::after(std::chrono::seconds(5))),
              SendStatus::kOk);
  });
  ASSERT_TRUE(p.server->wait_readable(Deadline::after(std::chrono::seconds(10))));
  ASSERT_EQ(recv_one(*p.server), RecvStatus::kFrame);
  EXPECT_EQ(p.server->header().request_id, 7u);
  p.server->consume();
  sender.join();
  // Again, several times: the completion queue is re-armed after each wake-up.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(p.client->send_frame(invoke_header(100 + i, 0), {},
                                   Deadline::after(std::chrono::seconds(5))),
              SendStatus::kOk);
    ASSERT_TRUE(p.server->wait_readable(Deadline::after(std::chrono::seconds(10))));
    ASSERT_EQ(recv_one(*p.server), RecvStatus::kFrame);
    EXPECT_EQ(p.server->header().request_id, 100u + i);
    p.server->consume();
  }
}

TEST(RdmaLink, OversizedFrameIsReportedAndSkipped) {
  rdma::LinkOptions limited;
  limited.max_payload = 1000;
  auto p = test::connect_pair({}, limited);
  for (size_t n : {size_t{5000}, size_t{300000}}) {
    const auto big = pattern(n, 1);
    std::thread sender([&] {
      EXPECT_EQ(p.client->send_frame(invoke_header(1, big.size()), big,
                                     Deadline::after(std::chrono::seconds(10))),
                SendStatus::kOk);
      const auto small = pattern(10, 2);
      EXPECT_EQ(p.client->send_frame(invoke_header(2, small.size()), small,
                                     Deadline::after(std::chrono::seconds(10))),
                SendStatus::kOk);
    });
    ASSERT_EQ(recv_one(*p.server), RecvStatus::kTooLarge);
    EXPECT_EQ(p.server->header().request_id, 1u);
    p.server->discard();
    ASSERT_EQ(recv_one(*p.server), RecvStatus::kFrame);
    EXPECT_EQ(p.server->header().request_id, 2u);
    p.server->consume();
    sender.join();
  }
}

TEST(RdmaLink, PeerShutdownIsSeenByAHotAndAWarmReceiver) {
  for (bool hot : {true, false}) {
    auto p = test::connect_pair();
    p.client->set_busy_poll(hot);
    p.server->shutdown();
    // The disconnect request may need CM retries when the emulated guest is starved: generous.
    const auto d = Deadline::after(std::chrono::seconds(30));
    RecvStatus r = RecvStatus::kAgain;
    while (r == RecvStatus::kAgain && !d.expired()) {
      if (!hot) p.client->wait_readable(Deadline::after(std::chrono::milliseconds(100)));
      r = p.client->try_recv();
    }
    EXPECT_EQ(r, RecvStatus::kClosed) << (hot ? "hot" : "warm");
    EXPECT_NE(p.client->send_frame(invoke_header(1, 0), {}, Deadline::after(std::chrono::seconds(5))),
              SendStatus::kOk);
  }
}

TEST(RdmaLink, ConnectingToNoListenerFailsWithinTheDeadline) {
  rdma::Listener l(test::rdma_address());
  const std::string ep = test::rdma_address() + ":" + std::to_string(l.port() + 1);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(rdma::RdmaLink::connect(ep, {1, 1}, {}, Deadline::after(std::chrono::seconds(3))),
               Error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(RdmaLink, RejectedRequestGivesAClearError) {
  rdma::Listener listener(test::rdma_address());
  const std::string ep = listener.endpoint();
  auto fut = std::async(std::launch::async, [&] {
    return rdma::RdmaLink::connect(ep, {9, 9}, {}, Deadline::after(std::chrono::seconds(10)));
  });
  rdma::Listener::Request req;
  const auto d = Deadline::after(std::chrono::seconds(10));
  while (!listener.next_request(req) && !d.expired())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  listener.reject(req);
  try {
    fut.get();
    FAIL() << "connect succeeded";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("rejected"), std::string::npos) << e.what();
  }
}

TEST(RdmaLink, AnAddressWithoutADeviceIsNamed) {
  // 198.18.1.99 is in the guest's benchmark range but on no interface.
  try {
    rdma::Listener l("198.18.1.99");
    FAIL() << "bound an address that no interface has";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("no RDMA device"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hpcless
