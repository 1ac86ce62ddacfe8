// Inputs of the example group functions, shared by the functions and by the tests that check
// them serially: the options text, each rank's vector for group.sum and the points of
// group.kmeans. Everything is deterministic and integer-valued, so sums are exact in double and
// a distributed result equals the serial one bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::group_fn {

// "key=value key=value ..." (whitespace-separated); unknown keys are an error.
inline std::map<std::string, int64_t> parse_options(std::string_view text,
                                                    const std::vector<std::string>& known) {
  std::map<std::string, int64_t> out;
  std::istringstream in{std::string(text)};
  std::string tok;
  while (in >> tok) {
    const auto eq = tok.find('=');
    const std::string key = tok.substr(0, eq);
    bool ok = eq != std::string::npos && eq + 1 < tok.size();
    bool is_known = false;
    for (const auto& k : known) is_known = is_known || k == key;
    if (!is_known) throw std::invalid_argument("unknown option '" + key + "'");
    int64_t v = 0;
    size_t used = 0;
    try {
      if (ok) v = std::stoll(tok.substr(eq + 1), &used);
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok || used != tok.size() - eq - 1)
      throw std::invalid_argument("option '" + tok + "' is not KEY=INTEGER");
    out[key] = v;
  }
  return out;
}

// group.sum: rank r contributes x[i] = (r + 1) * 1000 + i, i < n.
inline int64_t sum_element(int rank, size_t i) { return (rank + 1) * int64_t{1000} + int64_t(i); }
// The allreduced element i over `ranks` ranks.
inline int64_t sum_expected(int ranks, size_t i) {
  return int64_t{1000} * ranks * (ranks + 1) / 2 + int64_t(ranks) * int64_t(i);
}

// group.kmeans: point g (of `count`) has `dim` integer coordinates in [0, 1000).
inline double kmeans_coord(uint64_t seed, size_t g, size_t d) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + g * 0xBF58476D1CE4E5B9ull + d * 0x94D049BB133111EBull;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return static_cast<double>(x % 1000);
}

// Points of rank `rank` of `ranks`: the contiguous slice [count*rank/ranks, count*(rank+1)/ranks).
inline std::pair<size_t, size_t> kmeans_shard(size_t count, int rank, int ranks) {
  return {count * size_t(rank) / size_t(ranks), count * size_t(rank + 1) / size_t(ranks)};
}

// Accumulates, for points [begin, end), per-cluster coordinate sums and counts into `acc`
// (k * (dim + 1) doubles: cluster c's sums at c*(dim+1), its count after them). Nearest
// centroid by squared distance, ties to the lower index.
inline void kmeans_accumulate(uint64_t seed, size_t begin, size_t end, size_t dim,
                              const std::vector<double>& centroids, std::vector<double>& acc) {
  const size_t k = centroids.size() / dim;
  std::vector<double> p(dim);
  for (size_t g = begin; g < end; ++g) {
    for (size_t d = 0; d < dim; ++d) p[d] = kmeans_coord(seed, g, d);
    size_t best = 0;
    double best_d = -1;
    for (size_t c = 0; c < k; ++c) {
      double dist = 0;
      for (size_t d = 0; d < dim; ++d) {
        const double diff = p[d] - centroids[c * dim + d];
        dist += diff * diff;
      }
      if (best_d < 0 || dist < best_d) {
        best = c;
        best_d = dist;
      }
    }
    for (size_t d = 0; d < dim; ++d) acc[best * (dim + 1) + d] += p[d];
    acc[best * (dim + 1) + dim] += 1;
  }
}

// New centroids from the summed accumulators (an empty cluster keeps its centroid).
inline std::vector<double> kmeans_update(const std::vector<double>& centroids,
                                         const std::vector<double>& acc, size_t dim) {
  std::vector<double> next = centroids;
  const size_t k = centroids.size() / dim;
  for (size_t c = 0; c < k; ++c) {
    const double n = acc[c * (dim + 1) + dim];
    if (n > 0)
      for (size_t d = 0; d < dim; ++d) next[c * dim + d] = acc[c * (dim + 1) + d] / n;
  }
  return next;
}

// The initial centroids: the first k points.
inline std::vector<double> kmeans_initial(uint64_t seed, size_t k, size_t dim) {
  std::vector<double> c(k * dim);
  for (size_t i = 0; i < k; ++i)
    for (size_t d = 0; d < dim; ++d) c[i * dim + d] = kmeans_coord(seed, i, d);
  return c;
}

// "c0: x y\nc1: x y\n" with %.17g, as group.kmeans prints them.
inline std::string format_centroids(const std::vector<double>& c, size_t dim) {
  std::string s;
  char buf[64];
  for (size_t i = 0; i < c.size() / dim; ++i) {
    s += "c" + std::to_string(i) + ":";
    for (size_t d = 0; d < dim; ++d) {
      std::snprintf(buf, sizeof(buf), " %.17g", c[i * dim + d]);
      s += buf;
    }
    s += "\n";
  }
  return s;
}

}  // namespace hpcless::group_fn
