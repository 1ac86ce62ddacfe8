// 110.dynamic-html: renders an HTML page with `random_len` random numbers and the user's name
// through a ctemplate template (SeBS 110.dynamic-html uses jinja2/mustache).
// Input: {"username": S, "random_len": N, "seed": K}. Output: the page (text/html).
// The numbers come from a generator seeded with K, so the output can be validated.
#include <ctemplate/template.h>

#include <chrono>
#include <ctime>
#include <mutex>
#include <string>

#include "comm/base/json.hpp"
#include "functions/110.dynamic-html/page.hpp"
#include "functions/abi/hpcless_function.hpp"

namespace {

using hpcless::fn::Context;
using hpcless::fn::Output;
using hpcless::fn::Phase;

constexpr const char* kTemplateName = "hpcless_110_dynamic_html.tpl";
constexpr uint64_t kMaxLen = 10'000'000;

// ctemplate's cache is process-wide and thread-safe; the template is parsed once.
void load_template_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    ctemplate::StringToTemplateCache(kTemplateName, hpcless::bench::html::kTemplate,
                                     ctemplate::DO_NOT_STRIP);
  });
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int dynamic_html(Context& ctx, std::span<const std::byte> in, Output& out) {
  const auto j = nlohmann::json::parse(
      std::string_view(reinterpret_cast<const char*>(in.data()), in.size()), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("username") || !j["username"].is_string() ||
      !j.contains("random_len") || !j["random_len"].is_number_unsigned())
    return ctx.fail(
        "110.dynamic-html: input must be {\"username\": S, \"random_len\": N, \"seed\": K}");
  const uint64_t n = j["random_len"].get<uint64_t>();
  if (n > kMaxLen) return ctx.fail("110.dynamic-html: random_len above 10 million");
  const uint64_t seed = j.value("seed", uint64_t{0});
  std::string page;
  {
    Phase p(ctx, HPCLESS_PHASE_COMPUTE);
    load_template_once();
    ctemplate::TemplateDictionary dict("page");
    dict.SetValue("USERNAME", j["username"].get<std::string>());
    dict.SetValue("CUR_TIME", utc_now());
    hpcless::bench::DetRng rng(seed);
    for (uint64_t i = 0; i < n; ++i)
      dict.AddSectionDictionary("NUMBERS")->SetIntValue(
          "NUMBER", static_cast<long>(rng.below(hpcless::bench::html::kNumberBound)));
    if (!ctemplate::ExpandTemplate(kTemplateName, ctemplate::DO_NOT_STRIP, &dict, &page))
      return ctx.fail("110.dynamic-html: ctemplate could not expand the template");
  }
  return out.append(page) ? 0 : ctx.fail("110.dynamic-html: page larger than the output limit");
}

}  // namespace

HPCLESS_PACKAGE("bench-110-dynamic-html", HPCLESS_NAMED_FUNCTION("dynamic_html", dynamic_html))
