// A package of misbehaving functions, for tests of the executor's error handling.
//   fail          returns an error with a message
//   fail_silent   returns an error without a message
//   crash         dereferences a null pointer (SIGSEGV)
//   abort         calls abort() (SIGABRT)
//   throw         throws a C++ exception (caught by the C++ wrapper)
//   big_output    returns as many bytes as the decimal input says (tests the output limit)
//   echo          returns its input (so a shipped package can be checked)
//   worker_id     returns the worker thread index as text
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

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

}  // namespace

HPCLESS_PACKAGE("hpcless-test", HPCLESS_FUNCTION(fail), HPCLESS_FUNCTION(fail_silent),
                HPCLESS_FUNCTION(crash), HPCLESS_NAMED_FUNCTION("abort", do_abort),
                HPCLESS_NAMED_FUNCTION("throw", do_throw), HPCLESS_FUNCTION(big_output),
                HPCLESS_FUNCTION(echo), HPCLESS_FUNCTION(worker_id))
