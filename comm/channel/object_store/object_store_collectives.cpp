// The collectives of the object-store channel family (algorithms: object_store_channel.hpp).
#include <cstring>
#include <string>
#include <vector>

#include "comm/channel/object_store/object_store_channel.hpp"

namespace hpcless::comm {

namespace {

// Rethrows e with "<op>: " in front, keeping its type (callers catch TimeoutError etc.).
[[noreturn]] void rethrow_in(std::string_view op, const Error& e) {
  std::string msg(op);
  msg += ": ";
  msg += e.what();
  if (dynamic_cast<const TimeoutError*>(&e)) throw TimeoutError(msg);
  if (dynamic_cast<const IoError*>(&e)) throw IoError(msg);
  if (dynamic_cast<const ProtocolError*>(&e)) throw ProtocolError(msg);
  if (dynamic_cast<const ConfigError*>(&e)) throw ConfigError(msg);
  throw Error(msg);
}

void copy_bytes(void* dst, const void* src, size_t n) {
  if (n != 0 && dst != src) std::memmove(dst, src, n);
}

std::vector<int> all_but(int size, int skip) {
  std::vector<int> v;
  v.reserve(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r)
    if (r != skip) v.push_back(r);
  return v;
}

bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  const auto* pa = static_cast<const std::byte*>(a);
  const auto* pb = static_cast<const std::byte*>(b);
  return an != 0 && bn != 0 && pa < pb + bn && pb < pa + an;
}

// Near-equal blocks of `count` elements over `parts` ranks (the first count % parts get one
// more), as element counts and offsets.
void split_blocks(size_t count, int parts, std::vector<size_t>& counts,
                  std::vector<size_t>& offsets) {
  counts.resize(static_cast<size_t>(parts));
  offsets.resize(static_cast<size_t>(parts));
  const size_t base = count / static_cast<size_t>(parts);
  const size_t extra = count % static_cast<size_t>(parts);
  size_t off = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = base + (i < extra ? 1 : 0);
    offsets[i] = off;
    off += counts[i];
  }
}

}  // namespace

template <class F>
void ObjectStoreChannel::run_collective(std::string_view op, Deadline deadline, F&& body) {
  (void)deadline;
  if (aborted_) throw IoError(std::string(op) + ": " + abort_reason_);
  ++seq_;
  try {
    body();
  } catch (const objstore::RemoteAbort& e) {
    // Another rank posted the abort marker: fail here too, without posting it again.
    aborted_ = true;
    abort_reason_ = std::string("communicator aborted: ") + e.what();
    fail_all_pending(abort_reason_);
    throw IoError(std::string(op) + " on " + ctx() + ": " + e.what());
  } catch (const Error& e) {
    // Objects of a half-finished collective can never be matched by a later call: break the
    // channel and tell the other ranks through the abort marker.
    abort(std::string(op) + " failed on rank " + std::to_string(rank_) + ": " + e.what());
    rethrow_in(std::string(op) + " on " + ctx(), e);
  } catch (const std::bad_alloc&) {
    abort(std::string(op) + " failed on rank " + std::to_string(rank_) + ": out of memory");
    throw;
  }
}

void ObjectStoreChannel::check_root(std::string_view op, int root) const {
  if (root < 0 || root >= size_)
    throw ConfigError(std::string(op) + ": root " + std::to_string(root) +
                      " is not a rank of this group (size " + std::to_string(size_) + ")");
}

std::string ObjectStoreChannel::coll_key(std::string_view what) const {
  std::string k = "c" + std::to_string(seq_) + "/";
  k += what;
  return k;
}

std::byte* ObjectStoreChannel::scratch(size_t bytes) {
  if (scratch_.size() < bytes) scratch_.resize(bytes);
  return scratch_.data();
}

namespace {

// Gets every item and checks that each object has exactly the expected size (collectives
// require matching sizes on all ranks).
void get_exact(objstore::BlobStore& store, std::vector<objstore::GetItem>& items,
               Deadline deadline) {
  if (items.empty()) return;
  store.get(items, /*in_order=*/false, deadline);
  for (const auto& it : items) {
    if (it.truncated || it.bytes != it.capacity)
      throw ProtocolError("rank " + std::to_string(it.from) + " sent " + std::to_string(it.bytes) +
                          " bytes, expected " + std::to_string(it.capacity) +
                          " (sizes differ between ranks?)");
  }
}

objstore::GetItem item_from(std::string key, void* buf, size_t bytes, int from) {
  objstore::GetItem it;
  it.key = std::move(key);
  it.buf = static_cast<std::byte*>(buf);
  it.capacity = bytes;
  it.from = from;
  return it;
}

}  // namespace

void ObjectStoreChannel::fold(const std::vector<const std::byte*>& xs, void* out, size_t count,
                              const Reduction& op) {
  if (count == 0 || xs.empty()) return;
  const size_t bytes = count * op.elem_size;
  bool alias = false;
  for (const std::byte* x : xs) alias |= overlaps(x, bytes, out, bytes);
  // Accumulate from the highest rank down: acc = x_r op acc keeps rank order for any op.
  std::byte* acc = static_cast<std::byte*>(out);
  if (alias) {
    if (fold_acc_.size() < bytes) fold_acc_.resize(bytes);
    acc = fold_acc_.data();
  }
  std::memcpy(acc, xs.back(), bytes);
  for (size_t r = xs.size() - 1; r-- > 0;) op.combine_left(xs[r], acc, count);
  if (alias) std::memcpy(out, acc, bytes);
}

void ObjectStoreChannel::publish(std::vector<objstore::PutItem>& items) {
  if (items.empty()) return;
  store_->put(items);
  for (auto& it : items) note_written(it.key);
}

// ---------------------------------------------------------------------------------------------

void ObjectStoreChannel::barrier(Deadline deadline) {
  run_collective("barrier", deadline, [&] {
    if (size_ == 1) return;
    const std::string key = coll_key("bar");
    store_->arrive_and_wait(key, size_, deadline);
    if (store_->reads_consume()) return;
    // Every rank has finished every earlier collective (and the previous barrier's wait), so
    // what this rank wrote before is read by everyone.
    if (!last_arrival_.empty()) garbage_.push_back(std::move(last_arrival_));
    last_arrival_ = store_->arrival_object(key);
    collect_garbage(/*at_barrier=*/true);
  });
}

void ObjectStoreChannel::bcast(void* data, size_t bytes, int root, Deadline deadline) {
  check_root("bcast", root);
  run_collective("bcast", deadline, [&] {
    if (size_ == 1) return;
    if (rank_ == root) {
      const std::vector<int> readers = all_but(size_, root);
      std::vector<objstore::PutItem> items{
          {coll_key("b"), {static_cast<const std::byte*>(data), bytes}, readers}};
      publish(items);
    } else {
      std::vector<objstore::GetItem> items{item_from(coll_key("b"), data, bytes, root)};
      get_exact(*store_, items, deadline);
    }
  });
}

void ObjectStoreChannel::gather(const void* in, size_t bytes, void* out, int root,
                                Deadline deadline) {
  check_root("gather", root);
  run_collective("gather", deadline, [&] {
    if (rank_ != root) {
      const int readers[1] = {root};
      std::vector<objstore::PutItem> items{{coll_key("g" + std::to_string(rank_)),
                                            {static_cast<const std::byte*>(in), bytes},
                                            readers}};
      publish(items);
      return;
    }
    auto* o = static_cast<std::byte*>(out);
    copy_bytes(o + static_cast<size_t>(root) * bytes, in, bytes);
    std::vector<objstore::GetItem> items;
    for (int r = 0; r < size_; ++r)
      if (r != root)
        items.push_back(item_from(coll_key("g" + std::to_string(r)),
                                  o + static_cast<size_t>(r) * bytes, bytes, r));
    get_exact(*store_, items, deadline);
  });
}

void ObjectStoreChannel::gatherv(const void* in, size_t bytes, void* out,
                                 std::span<const size_t> counts, std::span<const size_t> displs,
                                 int root, Deadline deadline) {
  check_root("gatherv", root);
  run_collective("gatherv", deadline, [&] {
    if (rank_ != root) {
      const int readers[1] = {root};
      std::vector<objstore::PutItem> items{{coll_key("g" + std::to_string(rank_)),
                                            {static_cast<const std::byte*>(in), bytes},
                                            readers}};
      publish(items);
      return;
    }
    if (counts.size() != static_cast<size_t>(size_) || displs.size() != static_cast<size_t>(size_))
      throw ConfigError("counts and displs need one entry per rank (" + std::to_string(size_) +
                        ")");
    if (counts[root] != bytes)
      throw ConfigError("the root's count (" + std::to_string(counts[root]) +
                        " bytes) differs from its send size (" + std::to_string(bytes) + ")");
    auto* o = static_cast<std::byte*>(out);
    copy_bytes(o + displs[root], in, bytes);
    std::vector<objstore::GetItem> items;
    for (int r = 0; r < size_; ++r)
      if (r != root)
        items.push_back(item_from(coll_key("g" + std::to_string(r)), o + displs[r], counts[r], r));
    get_exact(*store_, items, deadline);
  });
}

void ObjectStoreChannel::scatter(const void* in, void* out, size_t bytes, int root,
                                 Deadline deadline) {
  check_root("scatter", root);
  run_collective("scatter", deadline, [&] {
    if (rank_ != root) {
      std::vector<objstore::GetItem> items{
          item_from(coll_key("s" + std::to_string(rank_)), out, bytes, root)};
      get_exact(*store_, items, deadline);
      return;
    }
    const auto* i = static_cast<const std::byte*>(in);
    std::vector<int> readers(static_cast<size_t>(size_));
    std::vector<objstore::PutItem> items;
    for (int r = 0; r < size_; ++r) {
      readers[r] = r;
      if (r != root)
        items.push_back({coll_key("s" + std::to_string(r)),
                         {i + static_cast<size_t>(r) * bytes, bytes},
                         {&readers[r], 1}});
    }
    publish(items);
    copy_bytes(out, i + static_cast<size_t>(root) * bytes, bytes);
  });
}

void ObjectStoreChannel::scatterv(const void* in, std::span<const size_t> counts,
                                  std::span<const size_t> displs, void* out, size_t bytes, int root,
                                  Deadline deadline) {
  check_root("scatterv", root);
  run_collective("scatterv", deadline, [&] {
    if (rank_ != root) {
      std::vector<objstore::GetItem> items{
          item_from(coll_key("s" + std::to_string(rank_)), out, bytes, root)};
      get_exact(*store_, items, deadline);
      return;
    }
    if (counts.size() != static_cast<size_t>(size_) || displs.size() != static_cast<size_t>(size_))
      throw ConfigError("counts and displs need one entry per rank (" + std::to_string(size_) +
                        ")");
    if (counts[root] != bytes)
      throw ConfigError("the root's count (" + std::to_string(counts[root]) +
                        " bytes) differs from its receive size (" + std::to_string(bytes) + ")");
    const auto* i = static_cast<const std::byte*>(in);
    std::vector<int> readers(static_cast<size_t>(size_));
    std::vector<objstore::PutItem> items;
    for (int r = 0; r < size_; ++r) {
      readers[r] = r;
      if (r != root)
        items.push_back(
            {coll_key("s" + std::to_string(r)), {i + displs[r], counts[r]}, {&readers[r], 1}});
    }
    publish(items);
    copy_bytes(out, i + displs[root], bytes);
  });
}

void ObjectStoreChannel::allgather(const void* in, size_t bytes, void* out, Deadline deadline) {
  run_collective("allgather", deadline, [&] {
    auto* o = static_cast<std::byte*>(out);
    if (size_ > 1) {
      const std::vector<int> readers = all_but(size_, rank_);
      std::vector<objstore::PutItem> items{{coll_key("a" + std::to_string(rank_)),
                                            {static_cast<const std::byte*>(in), bytes},
                                            readers}};
      publish(items);
    }
    copy_bytes(o + static_cast<size_t>(rank_) * bytes, in, bytes);
    std::vector<objstore::GetItem> items;
    for (int r = 0; r < size_; ++r)
      if (r != rank_)
        items.push_back(item_from(coll_key("a" + std::to_string(r)),
                                  o + static_cast<size_t>(r) * bytes, bytes, r));
    get_exact(*store_, items, deadline);
  });
}

void ObjectStoreChannel::alltoall(const void* in, void* out, size_t block_bytes,
                                  Deadline deadline) {
  if (in == out && block_bytes != 0 && size_ > 1)
    throw ConfigError("alltoall: the send and receive buffers must not be the same");
  run_collective("alltoall", deadline, [&] {
    const auto* i = static_cast<const std::byte*>(in);
    auto* o = static_cast<std::byte*>(out);
    const std::string me = std::to_string(rank_);
    std::vector<int> readers(static_cast<size_t>(size_));
    std::vector<objstore::PutItem> puts;
    for (int r = 0; r < size_; ++r) {
      readers[r] = r;
      if (r != rank_)
        puts.push_back({coll_key("t" + me + "/" + std::to_string(r)),
                        {i + static_cast<size_t>(r) * block_bytes, block_bytes},
                        {&readers[r], 1}});
    }
    publish(puts);
    copy_bytes(o + static_cast<size_t>(rank_) * block_bytes,
               i + static_cast<size_t>(rank_) * block_bytes, block_bytes);
    std::vector<objstore::GetItem> gets;
    for (int r = 0; r < size_; ++r)
      if (r != rank_)
        gets.push_back(item_from(coll_key("t" + std::to_string(r) + "/" + me),
                                 o + static_cast<size_t>(r) * block_bytes, block_bytes, r));
    get_exact(*store_, gets, deadline);
  });
}

// Block j of every rank goes to rank j, which folds the blocks in rank order.
void ObjectStoreChannel::reduce_scatter_blocks(const void* in, void* out,
                                               std::span<const size_t> counts, const Reduction& op,
                                               Deadline deadline, std::string_view tagc) {
  const size_t elem = op.elem_size;
  const auto* i = static_cast<const std::byte*>(in);
  std::vector<size_t> offs(counts.size());
  for (size_t r = 1; r < counts.size(); ++r) offs[r] = offs[r - 1] + counts[r - 1];
  const std::string me = std::to_string(rank_);
  std::vector<int> readers(static_cast<size_t>(size_));
  std::vector<objstore::PutItem> puts;
  for (int r = 0; r < size_; ++r) {
    readers[r] = r;
    if (r != rank_)
      puts.push_back({coll_key(std::string(tagc) + me + "/" + std::to_string(r)),
                      {i + offs[r] * elem, counts[r] * elem},
                      {&readers[r], 1}});
  }
  publish(puts);
  const size_t n = counts[rank_] * elem;
  std::byte* slots = scratch(n * static_cast<size_t>(size_ - 1));
  std::vector<objstore::GetItem> gets;
  std::vector<const std::byte*> xs(static_cast<size_t>(size_));
  size_t slot = 0;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) {
      xs[r] = i + offs[r] * elem;
      continue;
    }
    xs[r] = slots + slot * n;
    gets.push_back(item_from(coll_key(std::string(tagc) + std::to_string(r) + "/" + me),
                             slots + slot * n, n, r));
    ++slot;
  }
  get_exact(*store_, gets, deadline);
  fold(xs, out, counts[rank_], op);
}

void ObjectStoreChannel::reduce_scatter(const void* in, void* out, std::span<const size_t> counts,
                                        const Reduction& op, Deadline deadline) {
  if (counts.size() != static_cast<size_t>(size_))
    throw ConfigError("reduce_scatter: counts needs one entry per rank (" + std::to_string(size_) +
                      "), got " + std::to_string(counts.size()));
  run_collective("reduce_scatter", deadline,
                 [&] { reduce_scatter_blocks(in, out, counts, op, deadline, "x"); });
}

bool ObjectStoreChannel::split_reduction(size_t count, size_t elem) const {
  return size_ >= 4 && count >= static_cast<size_t>(size_) && count * elem >= tuning_.split_bytes;
}

void ObjectStoreChannel::reduce(const void* in, void* out, size_t count, const Reduction& op,
                                int root, Deadline deadline) {
  check_root("reduce", root);
  run_collective("reduce", deadline, [&] {
    const size_t bytes = count * op.elem_size;
    if (size_ == 1) {
      copy_bytes(out, in, bytes);
      return;
    }
    if (!split_reduction(count, op.elem_size)) {
      if (rank_ != root) {
        const int readers[1] = {root};
        std::vector<objstore::PutItem> items{{coll_key("r" + std::to_string(rank_)),
                                              {static_cast<const std::byte*>(in), bytes},
                                              readers}};
        publish(items);
        return;
      }
      std::byte* slots = scratch(bytes * static_cast<size_t>(size_ - 1));
      std::vector<objstore::GetItem> gets;
      std::vector<const std::byte*> xs(static_cast<size_t>(size_));
      size_t slot = 0;
      for (int r = 0; r < size_; ++r) {
        if (r == root) {
          xs[r] = static_cast<const std::byte*>(in);
          continue;
        }
        xs[r] = slots + slot * bytes;
        gets.push_back(
            item_from(coll_key("r" + std::to_string(r)), slots + slot * bytes, bytes, r));
        ++slot;
      }
      get_exact(*store_, gets, deadline);
      fold(xs, out, count, op);
      return;
    }
    // Large: reduce_scatter, then the root gathers the reduced blocks.
    std::vector<size_t> counts, offs;
    split_blocks(count, size_, counts, offs);
    const size_t elem = op.elem_size;
    const size_t mine = counts[rank_] * elem;
    if (block_.size() < mine) block_.resize(mine);
    reduce_scatter_blocks(in, block_.data(), counts, op, deadline, "x");
    if (rank_ != root) {
      const int readers[1] = {root};
      std::vector<objstore::PutItem> items{
          {coll_key("y" + std::to_string(rank_)), {block_.data(), mine}, readers}};
      publish(items);
      return;
    }
    auto* o = static_cast<std::byte*>(out);
    copy_bytes(o + offs[rank_] * elem, block_.data(), mine);
    std::vector<objstore::GetItem> gets;
    for (int r = 0; r < size_; ++r)
      if (r != root)
        gets.push_back(
            item_from(coll_key("y" + std::to_string(r)), o + offs[r] * elem, counts[r] * elem, r));
    get_exact(*store_, gets, deadline);
  });
}

void ObjectStoreChannel::allreduce(const void* in, void* out, size_t count, const Reduction& op,
                                   Deadline deadline) {
  run_collective("allreduce", deadline, [&] {
    const size_t bytes = count * op.elem_size;
    if (size_ == 1) {
      copy_bytes(out, in, bytes);
      return;
    }
    if (!split_reduction(count, op.elem_size)) {
      // One step: every rank gets every contribution and folds them itself.
      const std::vector<int> readers = all_but(size_, rank_);
      std::vector<objstore::PutItem> puts{{coll_key("r" + std::to_string(rank_)),
                                           {static_cast<const std::byte*>(in), bytes},
                                           readers}};
      publish(puts);
      std::byte* slots = scratch(bytes * static_cast<size_t>(size_ - 1));
      std::vector<objstore::GetItem> gets;
      std::vector<const std::byte*> xs(static_cast<size_t>(size_));
      size_t slot = 0;
      for (int r = 0; r < size_; ++r) {
        if (r == rank_) {
          xs[r] = static_cast<const std::byte*>(in);
          continue;
        }
        xs[r] = slots + slot * bytes;
        gets.push_back(
            item_from(coll_key("r" + std::to_string(r)), slots + slot * bytes, bytes, r));
        ++slot;
      }
      get_exact(*store_, gets, deadline);
      fold(xs, out, count, op);
      return;
    }
    // Large: reduce_scatter, then allgather of the reduced blocks.
    std::vector<size_t> counts, offs;
    split_blocks(count, size_, counts, offs);
    const size_t elem = op.elem_size;
    const size_t mine = counts[rank_] * elem;
    if (block_.size() < mine) block_.resize(mine);
    reduce_scatter_blocks(in, block_.data(), counts, op, deadline, "x");
    const std::vector<int> readers = all_but(size_, rank_);
    std::vector<objstore::PutItem> puts{
        {coll_key("y" + std::to_string(rank_)), {block_.data(), mine}, readers}};
    publish(puts);
    auto* o = static_cast<std::byte*>(out);
    copy_bytes(o + offs[rank_] * elem, block_.data(), mine);
    std::vector<objstore::GetItem> gets;
    for (int r = 0; r < size_; ++r)
      if (r != rank_)
        gets.push_back(
            item_from(coll_key("y" + std::to_string(r)), o + offs[r] * elem, counts[r] * elem, r));
    get_exact(*store_, gets, deadline);
  });
}

void ObjectStoreChannel::scan(const void* in, void* out, size_t count, const Reduction& op,
                              Deadline deadline) {
  run_collective("scan", deadline, [&] {
    const size_t bytes = count * op.elem_size;
    if (rank_ < size_ - 1) {
      std::vector<int> readers;
      for (int r = rank_ + 1; r < size_; ++r) readers.push_back(r);
      std::vector<objstore::PutItem> puts{{coll_key("p" + std::to_string(rank_)),
                                           {static_cast<const std::byte*>(in), bytes},
                                           readers}};
      publish(puts);
    }
    if (rank_ == 0) {
      copy_bytes(out, in, bytes);
      return;
    }
    std::byte* slots = scratch(bytes * static_cast<size_t>(rank_));
    std::vector<objstore::GetItem> gets;
    std::vector<const std::byte*> xs(static_cast<size_t>(rank_ + 1));
    for (int r = 0; r < rank_; ++r) {
      xs[r] = slots + static_cast<size_t>(r) * bytes;
      gets.push_back(item_from(coll_key("p" + std::to_string(r)),
                               slots + static_cast<size_t>(r) * bytes, bytes, r));
    }
    xs[rank_] = static_cast<const std::byte*>(in);
    get_exact(*store_, gets, deadline);
    fold(xs, out, count, op);
  });
}

void ObjectStoreChannel::finish_rendezvous(rendezvous::Store& store, const std::string& key,
                                           Deadline deadline) {
  barrier(deadline);
  // Everyone has read the run id: a later communicator of the same group must not find it.
  if (rank_ == 0) store.erase_prefix(key);
}

}  // namespace hpcless::comm
