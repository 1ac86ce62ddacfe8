#include "functions/bench/all_benchmarks.hpp"

namespace hpcless::bench {

namespace {
Registry build() {
  Registry r;
  // ---- storage and web benchmarks ----
  register_010(r);
  register_110(r);
  register_120(r);
  register_130(r);
  // ---- compute benchmarks (210, 311, 501-504, 601-603): call yours here, in id order ----
  register_210(r);
  register_311(r);
  register_501(r);
  register_502(r);
  register_503(r);
  register_504(r);
  register_601(r);
  register_602(r);
  register_603(r);
  return r;
}
}  // namespace

const Registry& all_benchmarks() {
  static const Registry registry = build();
  return registry;
}

}  // namespace hpcless::bench
