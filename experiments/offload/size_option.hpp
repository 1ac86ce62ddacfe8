// `--n N` for the matrix size, as the offload commands document it. cxxopts only takes long
// options of two or more characters, so the option is registered as `--size` and `--n`
// (also `--n=N`) is rewritten to it before parsing.
#pragma once

#include <string>
#include <vector>

namespace hpcless::offload {

// argv with every "--n" replaced by "--size" and "--n=V" by "--size=V". The strings are owned
// by the returned object; argv() points into them.
class SizeOptionArgs {
 public:
  SizeOptionArgs(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) {
      std::string a = argv[i];
      if (i > 0 && a == "--n") a = "--size";
      else if (i > 0 && a.rfind("--n=", 0) == 0) a = "--size=" + a.substr(4);
      args_.push_back(std::move(a));
    }
    for (auto& a : args_) ptrs_.push_back(a.data());
    ptrs_.push_back(nullptr);
  }
  SizeOptionArgs(const SizeOptionArgs&) = delete;
  SizeOptionArgs& operator=(const SizeOptionArgs&) = delete;

  int argc() const noexcept { return static_cast<int>(args_.size()); }
  char** argv() noexcept { return ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> ptrs_;
};

}  // namespace hpcless::offload
