#include "comm/collectives/algorithms.hpp"

namespace hpcless::comm::coll {

void barrier_dissemination(Context& c) {
  // Round k: tell rank+k we arrived, hear from rank-k. After ceil(log2 p) rounds every rank has
  // heard (transitively) from all others. The sources of different rounds are distinct, so one
  // tag serves all rounds.
  for (int k = 1; k < c.size; k <<= 1)
    c.sendrecv((c.rank + k) % c.size, nullptr, 0, (c.rank - k + c.size) % c.size, nullptr, 0);
}

void barrier_linear(Context& c) {
  // Everyone reports to rank 0, which releases everyone once all have arrived.
  if (c.rank != 0) {
    c.send(0, nullptr, 0);
    c.recv(0, nullptr, 0);
    return;
  }
  Batch in(c);
  for (int i = 1; i < c.size; ++i) in.recv(i, nullptr, 0);
  in.wait();
  Batch out(c);
  for (int i = 1; i < c.size; ++i) out.send(i, nullptr, 0);
  out.wait();
}

}  // namespace hpcless::comm::coll
