// 110.dynamic-html: what the package and the validator share (the page's fixed parts and the
// random numbers' generator).
#pragma once

#include <cstdint>

#include "functions/bench/det_rng.hpp"

namespace hpcless::bench::html {

// Numbers are drawn from [0, kNumberBound), like SeBS's random.sample(range(0, 1000000), n).
inline constexpr uint64_t kNumberBound = 1'000'000;

// ctemplate markers: {{USERNAME:h}} is HTML-escaped; NUMBERS repeats once per number.
inline constexpr const char* kTemplate =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "  <head>\n"
    "    <title>Randomly generated data.</title>\n"
    "    <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">\n"
    "    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "  </head>\n"
    "  <body>\n"
    "    <div class=\"container\">\n"
    "      <h1>Welcome {{USERNAME:h}}!</h1>\n"
    "      <p>Data generated at: {{CUR_TIME}}!</p>\n"
    "      <p>Requested random numbers:</p>\n"
    "      <ul>\n"
    "{{#NUMBERS}}        <li>{{NUMBER}}</li>\n"
    "{{/NUMBERS}}"
    "      </ul>\n"
    "    </div>\n"
    "  </body>\n"
    "</html>\n";

}  // namespace hpcless::bench::html
