// A package of misbehaving functions, for tests of the executor's error handling.
//   fail          returns an error with a message
//   fail_silent   returns an error without a message
//   crash         dereferences a null pointer (SIGSEGV)
//   abort         calls abort() (SIGABRT)
//   throw         throws a C++ exception (caught by the C++ wrapper)
//   big_output    returns as many bytes as the decimal input says (tests the output limit)
//   echo          returns its input (so a shipped package can be checked)
//   worker_id     returns the worker thread index as text
//   alloc         allocates and touches N MiB (tests a lease's memory limit)
//   sleep_ms      sleeps N ms (keeps a request running while a test kills something)
//   affinity      returns the cores the worker process may run on (tests lease pinning)
#include <sched.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;

int fail(Context& ctx, std::span<const std::byte>, Output&) {
  return ctx.fail("fail: this function always fails");
}

int fail_silent(Context&, std::span<const std::byte>, Output&) { return 7; }

int crash(Context&, std::span<const std::byte>, Output&) {
  std::raise(SIGSEGV);
  return 0;
}

int do_abort(Context&, std::span<const std::byte>, Output&) { std::abort(); }

int do_throw(Context&, std::span<const std::byte>, Output&) {
  throw std::runtime_error("throw: an exception escaped the function");
}

int big_output(Context& ctx, std::span<const std::byte> in, Output& out) {
  const std::string text(reinterpret_cast<const char*>(in.data()), in.size());
  const size_t n = std::stoull(text);
  auto span = out.reserve(n);
  if (span.data() == nullptr) return ctx.fail("big_output: output limit reached");
  for (size_t i = 0; i < n; ++i) span[i] = std::byte{'x'};
  out.commit(n);
  return 0;
}

int echo(Context& ctx, std::span<const std::byte> in, Output& out) {
  return out.append(in) ? 0 : ctx.fail("echo: output limit");
}

int worker_id(Context& ctx, std::span<const std::byte>, Output& out) {
  return out.append(std::to_string(ctx.worker_id())) ? 0 : 1;
}

// Allocates and touches N MiB (decimal input): exceeds a lease's memory limit on purpose.
int alloc(Context&, std::span<const std::byte> in, Output& out) {
  const size_t mib = std::stoull(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
  std::vector<char> block(mib << 20);  // std::bad_alloc under RLIMIT_AS
  for (size_t i = 0; i < block.size(); i += 4096) block[i] = 1;
  return out.append(std::string_view("allocated")) ? 0 : 1;
}

// Sleeps N milliseconds (decimal input): keeps a request running while a test kills something.
int sleep_ms(Context&, std::span<const std::byte> in, Output& out) {
  const auto ms = std::stoull(std::string(reinterpret_cast<const char*>(in.data()), in.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return out.append(std::string_view("slept")) ? 0 : 1;
}

// The cores this worker process may run on, "2,3": checks a lease's pinning.
int affinity(Context&, std::span<const std::byte>, Output& out) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  std::string s;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) {
      if (!s.empty()) s.push_back(',');
      s.append(std::to_string(c));
    }
  return out.append(s) ? 0 : 1;
}

}  // namespace

HPCLESS_PACKAGE("hpcless-test", HPCLESS_FUNCTION(fail), HPCLESS_FUNCTION(fail_silent),
                HPCLESS_FUNCTION(crash), HPCLESS_NAMED_FUNCTION("abort", do_abort),
                HPCLESS_NAMED_FUNCTION("throw", do_throw), HPCLESS_FUNCTION(big_output),
                HPCLESS_FUNCTION(echo), HPCLESS_FUNCTION(worker_id), HPCLESS_FUNCTION(alloc),
                HPCLESS_FUNCTION(sleep_ms), HPCLESS_FUNCTION(affinity))
