// 504.dna-visualisation: the FASTA generator, the squiggle transform and the result format,
// shared by the function and its client-side generator/validator. Header-only, no global state:
// safe from any thread.
//
// The transform is squiggle's default method (`squiggle.transform(seq, method="squiggle")`, the
// Python package SeBS calls): after upper-casing, every base adds two points to a walk that
// starts at (0, 0), with x advancing by 0.5 per point (x_k = k / 2):
//     A: y+0.5, y        C: y-0.5, y        G: y+0.5, y+1        T: y-0.5, y-1
//     anything else: y, y (flat)
// so a sequence of n bases gives 2n + 1 points. Example (squiggle's docstring):
//     "ATGC" -> y = 0, 0.5, 0, -0.5, -1, -0.5, 0, -0.5, 0
// Difference from SeBS: SeBS hands the whole file (header line and line breaks included) to
// transform(), so those characters add flat segments; we transform the sequence only (header and
// line breaks removed), which is what the transform is meant for.
//
// The result object stores y exactly as integers 2y (x is implicit):
//     bytes 0-3 "HPSQ", 4-7 version 1 (u32 LE), 8-15 point count (u64 LE),
//     then one int32 LE per point: 2 * y_k.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "functions/bench/det_rng.hpp"

namespace hpcless::bench::squiggle {

inline constexpr size_t kHeaderBytes = 16;
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kMaxBases = size_t{1} << 28;  // 2 GiB of result: far beyond any class
inline constexpr size_t kLineWidth = 60;

// A FASTA file with one record of `bases` deterministic bases (A, C, G, T with a GC content of
// about 42 %, as in B. subtilis, the genome SeBS uses), 60 per line.
inline std::string generate_fasta(size_t bases, uint64_t seed) {
  std::string f = ">hpcless-synthetic-genome seed=" + std::to_string(seed) +
                  " length=" + std::to_string(bases) + "\n";
  f.reserve(f.size() + bases + bases / kLineWidth + 1);
  DetRng rng(seed);
  for (size_t i = 0; i < bases; ++i) {
    const uint64_t r = rng.below(100);
    f += r < 29 ? 'A' : r < 58 ? 'T' : r < 79 ? 'G' : 'C';
    if ((i + 1) % kLineWidth == 0 || i + 1 == bases) f += '\n';
  }
  return f;
}

// The sequence of a FASTA text: lines starting with '>' or ';' are headers/comments, white space
// (line breaks, CR, blanks) is dropped. Text without a header line is taken as a bare sequence.
inline std::string sequence_of(std::string_view fasta) {
  std::string seq;
  seq.reserve(fasta.size());
  size_t pos = 0;
  while (pos < fasta.size()) {
    size_t end = fasta.find('\n', pos);
    if (end == std::string_view::npos) end = fasta.size();
    const std::string_view line = fasta.substr(pos, end - pos);
    if (!line.empty() && line[0] != '>' && line[0] != ';')
      for (char c : line)
        if (c != '\r' && c != ' ' && c != '\t') seq += c;
    pos = end + 1;
  }
  return seq;
}

// 2 * y of the 2n + 1 points of the squiggle walk.
inline std::vector<int32_t> transform_y2(std::string_view seq) {
  std::vector<int32_t> y2;
  y2.reserve(2 * seq.size() + 1);
  int32_t run = 0;  // 2 * running value
  y2.push_back(0);
  for (char ch : seq) {
    switch (ch) {
      case 'A':
      case 'a':
        y2.push_back(run + 1);
        y2.push_back(run);
        break;
      case 'C':
      case 'c':
        y2.push_back(run - 1);
        y2.push_back(run);
        break;
      case 'G':
      case 'g':
        y2.push_back(run + 1);
        run += 2;
        y2.push_back(run);
        break;
      case 'T':
      case 't':
        y2.push_back(run - 1);
        run -= 2;
        y2.push_back(run);
        break;
      default:
        y2.push_back(run);
        y2.push_back(run);
        break;
    }
  }
  return y2;
}

inline std::string encode(const std::vector<int32_t>& y2) {
  std::string out(kHeaderBytes + 4 * y2.size(), '\0');
  auto put = [&](size_t at, uint64_t v, int bytes) {
    for (int b = 0; b < bytes; ++b) out[at + b] = static_cast<char>((v >> (8 * b)) & 0xff);
  };
  std::memcpy(out.data(), "HPSQ", 4);
  put(4, kVersion, 4);
  put(8, y2.size(), 8);
  for (size_t k = 0; k < y2.size(); ++k) put(kHeaderBytes + 4 * k, static_cast<uint32_t>(y2[k]), 4);
  return out;
}

// The points of an encoded result; std::nullopt (with `why`) when the bytes are not one.
inline std::optional<std::vector<int32_t>> decode(std::string_view bytes, std::string& why) {
  auto get = [&](size_t at, int n) {
    uint64_t v = 0;
    for (int b = 0; b < n; ++b)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + b])) << (8 * b);
    return v;
  };
  if (bytes.size() < kHeaderBytes || bytes.substr(0, 4) != "HPSQ") {
    why = "not a squiggle result (no HPSQ header)";
    return std::nullopt;
  }
  if (get(4, 4) != kVersion) {
    why = "unknown squiggle result version " + std::to_string(get(4, 4));
    return std::nullopt;
  }
  const uint64_t count = get(8, 8);
  if (count > (bytes.size() - kHeaderBytes) / 4 || bytes.size() != kHeaderBytes + 4 * count) {
    why = "squiggle result of " + std::to_string(bytes.size()) + " bytes does not hold " +
          std::to_string(count) + " points";
    return std::nullopt;
  }
  std::vector<int32_t> y2(count);
  for (size_t k = 0; k < count; ++k)
    y2[k] = static_cast<int32_t>(static_cast<uint32_t>(get(kHeaderBytes + 4 * k, 4)));
  return y2;
}

}  // namespace hpcless::bench::squiggle
