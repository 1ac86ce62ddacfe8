#include "functions/bench/benchmark.hpp"

#include <algorithm>

#include "comm/base/error.hpp"

namespace hpcless::bench {

SizeClass parse_size_class(std::string_view s) {
  if (s == "test") return SizeClass::kTest;
  if (s == "small") return SizeClass::kSmall;
  if (s == "large") return SizeClass::kLarge;
  throw ConfigError("unknown size class '" + std::string(s) + "' (use test, small or large)");
}

std::string_view to_string(SizeClass s) {
  switch (s) {
    case SizeClass::kTest:
      return "test";
    case SizeClass::kSmall:
      return "small";
    case SizeClass::kLarge:
      return "large";
  }
  return "unknown";
}

BenchmarkSpec benchmark_spec(std::string name, std::string function, std::string description,
                             Storage storage, decltype(BenchmarkSpec::prepare) prepare,
                             decltype(BenchmarkSpec::validate) validate) {
  BenchmarkSpec s;
  s.package = "libhpcless_bench_" + name.substr(0, name.find('.')) + ".so";
  s.name = std::move(name);
  s.function = std::move(function);
  s.description = std::move(description);
  s.needs_storage = storage == Storage::kNeeded;
  s.prepare = std::move(prepare);
  s.validate = std::move(validate);
  return s;
}

void Registry::add(BenchmarkSpec spec) {
  if (spec.name.empty()) throw ConfigError("a benchmark needs a name");
  if (!spec.prepare || !spec.validate)
    throw ConfigError("benchmark '" + spec.name + "' lacks prepare or validate");
  const bool dup = std::any_of(specs_.begin(), specs_.end(),
                               [&](const BenchmarkSpec& s) { return s.name == spec.name; });
  if (dup) throw ConfigError("benchmark '" + spec.name + "' is registered twice");
  specs_.push_back(std::move(spec));
}

const BenchmarkSpec& Registry::find(std::string_view name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  // "501" or "graph-pagerank" also find "501.graph-pagerank".
  const BenchmarkSpec* match = nullptr;
  size_t matches = 0;
  for (const auto& s : specs_) {
    const auto dot = s.name.find('.');
    const std::string_view id = std::string_view(s.name).substr(0, dot);
    const std::string_view rest =
        dot == std::string::npos ? std::string_view() : std::string_view(s.name).substr(dot + 1);
    if (name == id || name == rest) {
      match = &s;
      ++matches;
    }
  }
  if (matches == 1) return *match;
  std::string known;
  for (const auto& s : specs_) known += (known.empty() ? "" : ", ") + s.name;
  throw ConfigError("unknown benchmark '" + std::string(name) +
                    "'; known: " + (known.empty() ? "(none)" : known));
}

}  // namespace hpcless::bench
