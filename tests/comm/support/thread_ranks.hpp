// Runs the ranks of a group as threads of this process, with an in-memory rendezvous store and
// a watchdog. Each rank's exception text (empty on success) is returned.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "comm/communicator/communicator.hpp"
#include "comm/rendezvous/memory_store.hpp"
#include "tests/comm/support/watchdog.hpp"

namespace hpcless::comm::testing {

inline std::string unique_group(const std::string& base) {
  static std::atomic<int> n{0};
  return base + "-" + std::to_string(n.fetch_add(1));
}

// Options for tests: short enough that a lost message fails within the test's time budget.
inline CommOptions test_options(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  CommOptions o;
  o.timeout = timeout;
  o.direct.connect_timeout = std::chrono::seconds(20);
  o.tuning = CollectiveTuning{};  // the defaults, whatever the environment says
  return o;
}

using RankBody = std::function<void(int rank, int size, std::shared_ptr<rendezvous::Store> store,
                                    const std::string& group)>;

inline std::vector<std::string> run_thread_ranks(int size, const RankBody& body,
                                                 std::chrono::seconds limit,
                                                 const std::string& what,
                                                 std::shared_ptr<rendezvous::Store> store = {}) {
  if (!store) store = std::make_shared<rendezvous::MemoryStore>();
  const std::string group = unique_group(what);
  std::vector<std::string> errors(static_cast<size_t>(size));
  Watchdog wd(limit, what + " with " + std::to_string(size) + " thread ranks");
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      try {
        body(r, size, store, group);
      } catch (const std::exception& e) {
        errors[r] = e.what();
        if (errors[r].empty()) errors[r] = "exception without message";
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

inline std::string join_errors(const std::vector<std::string>& errors) {
  std::string all;
  for (size_t r = 0; r < errors.size(); ++r)
    if (!errors[r].empty()) all += "rank " + std::to_string(r) + ": " + errors[r] + "\n";
  return all;
}

}  // namespace hpcless::comm::testing
