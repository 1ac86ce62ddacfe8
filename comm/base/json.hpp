// nlohmann::json for every hpcless target: include this instead of <nlohmann/json.hpp> and link
// hpcless_json.
//
// Why: the library is header-only, so every file that parses or prints JSON instantiated its
// parser, lexer and serializer again; measured on GCC 12, that was 60% of such a file's compile
// time under ASan (8.9 s -> 3.4 s) and 45% at -O2 (7.0 s -> 3.8 s). The explicit instantiation
// declarations below make the compiler use the single copy built in json.cpp instead. Only
// compile time changes: the types and the API are nlohmann's own.
#pragma once

#include <istream>
#include <nlohmann/json.hpp>
#include <string>

// The instantiations shared by all targets: the value type, its serializer, const iteration,
// the DOM builders, and parser + lexer for the three inputs hpcless parses (std::string,
// pointer ranges such as std::string_view, and streams). iter_impl<json> is left out: its
// converting members cannot be instantiated for the non-const iterator.
#define HPCLESS_JSON_INSTANTIATIONS(PREFIX)                                                      \
  PREFIX class nlohmann::basic_json<>;                                                           \
  PREFIX class nlohmann::detail::serializer<nlohmann::json>;                                     \
  PREFIX class nlohmann::detail::iter_impl<const nlohmann::json>;                                \
  PREFIX class nlohmann::detail::json_sax_dom_parser<nlohmann::json>;                            \
  PREFIX class nlohmann::detail::json_sax_dom_callback_parser<nlohmann::json>;                   \
  PREFIX class nlohmann::detail::parser<nlohmann::json,                                          \
                                        nlohmann::detail::iterator_input_adapter<const char*>>;  \
  PREFIX class nlohmann::detail::lexer<nlohmann::json,                                           \
                                       nlohmann::detail::iterator_input_adapter<const char*>>;   \
  PREFIX class nlohmann::detail::parser<                                                         \
      nlohmann::json, nlohmann::detail::iterator_input_adapter<std::string::const_iterator>>;    \
  PREFIX class nlohmann::detail::lexer<                                                          \
      nlohmann::json, nlohmann::detail::iterator_input_adapter<std::string::const_iterator>>;    \
  PREFIX class nlohmann::detail::parser<nlohmann::json, nlohmann::detail::input_stream_adapter>; \
  PREFIX class nlohmann::detail::lexer<nlohmann::json, nlohmann::detail::input_stream_adapter>;

HPCLESS_JSON_INSTANTIATIONS(extern template)
