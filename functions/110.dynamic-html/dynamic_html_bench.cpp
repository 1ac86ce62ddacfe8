// 110.dynamic-html, client side: input per size class and validation of the page's structure.
//
// Size classes as SeBS: random_len = 10 (test), 1000 (small), 100000 (large).
#include <string>
#include <string_view>

#include "comm/base/json.hpp"
#include "functions/110.dynamic-html/page.hpp"
#include "functions/bench/all_benchmarks.hpp"
#include "functions/bench/bench_util.hpp"

namespace hpcless::bench {

namespace {

constexpr const char* kUser = "hpcless <bench> & co";  // needs escaping: tests the :h modifier
constexpr const char* kUserEscaped = "hpcless &lt;bench&gt; &amp; co";
constexpr uint64_t kSeed = 42;

uint64_t random_len(SizeClass s) { return by_size_class<uint64_t>(s, 10, 1000, 100000); }

// Checks that `page` at `pos` continues with `text`; advances pos.
bool expect_at(std::string_view page, size_t& pos, std::string_view text) {
  if (page.substr(pos, text.size()) != text) return false;
  pos += text.size();
  return true;
}

Validation validate_page(std::string_view page, uint64_t n) {
  const std::string_view tpl = html::kTemplate;
  // Fixed head: everything before the user name.
  const std::string_view head = tpl.substr(0, tpl.find("{{USERNAME:h}}"));
  size_t pos = 0;
  if (!expect_at(page, pos, head))
    return invalid("page does not start with the template's head: '" + excerpt(page) + "'");
  if (!expect_at(page, pos, kUserEscaped))
    return invalid("the user name is missing or not HTML-escaped near '" +
                   excerpt(page.substr(pos, 60)) + "'");
  if (!expect_at(page, pos, "!</h1>\n      <p>Data generated at: "))
    return invalid("heading malformed near '" + excerpt(page.substr(pos, 60)) + "'");
  const size_t time_end = page.find("!</p>\n", pos);
  if (time_end == std::string_view::npos || time_end == pos || time_end - pos > 64)
    return invalid("the generation time is missing");
  pos = time_end;
  if (!expect_at(page, pos, "!</p>\n      <p>Requested random numbers:</p>\n      <ul>\n"))
    return invalid("list header malformed near '" + excerpt(page.substr(pos, 60)) + "'");
  DetRng rng(kSeed);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string item =
        "        <li>" + std::to_string(rng.below(html::kNumberBound)) + "</li>\n";
    if (!expect_at(page, pos, item))
      return invalid("list item " + std::to_string(i) + " of " + std::to_string(n) +
                     " is wrong: expected '" + item.substr(0, item.size() - 1) + "', found '" +
                     excerpt(page.substr(pos, item.size() - 1)) + "'");
  }
  if (!expect_at(page, pos, "      </ul>\n    </div>\n  </body>\n</html>\n"))
    return invalid("expected exactly " + std::to_string(n) +
                   " list items and the closing tags, found '" + excerpt(page.substr(pos, 60)) +
                   "'");
  if (pos != page.size())
    return invalid(std::to_string(page.size() - pos) + " unexpected bytes after </html>");
  return valid();
}

}  // namespace

void register_110(Registry& r) {
  r.add(benchmark_spec(
      "110.dynamic-html", "dynamic_html",
      "ctemplate HTML page with random_len = 10 / 1000 / 100000 numbers", Storage::kNotNeeded,
      [](SizeClass size, const StorageAccess&) {
        PreparedInput in;
        in.payload =
            nlohmann::json{{"username", kUser}, {"random_len", random_len(size)}, {"seed", kSeed}}
                .dump();
        in.expected = std::to_string(random_len(size));
        return in;
      },
      [](SizeClass, const PreparedInput& in, std::span<const std::byte> output,
         const StorageAccess&) {
        return validate_page(as_text(output), std::stoull(in.expected));
      }));
}

}  // namespace hpcless::bench
