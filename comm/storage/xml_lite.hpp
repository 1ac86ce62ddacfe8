// The little XML that S3 answers need: text of elements by tag name, and escaping.
//
// Not a general XML parser: S3 response documents are flat, have no attributes on the elements we
// read, no CDATA and no comments. Elements are matched by exact tag name ("<Key>" never matches
// "<KeyCount>"). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpcless::storage::xml {

// Inner text (raw, still escaped) of every <tag>...</tag> in `doc`, in document order. A
// self-closing <tag/> yields an empty string. Nested elements of the same name are not supported.
std::vector<std::string_view> elements(std::string_view doc, std::string_view tag);

// Unescaped inner text of the first <tag>...</tag>, or std::nullopt.
std::optional<std::string> text(std::string_view doc, std::string_view tag);

// &amp; &lt; &gt; &quot; &apos; &#NN; &#xHH; -> characters (UTF-8 for numeric references).
std::string unescape(std::string_view s);
// & < > " ' -> entities.
std::string escape(std::string_view s);

// The name of the root element ("Error", "ListBucketResult"), skipping the XML declaration.
std::string root_name(std::string_view doc);

}  // namespace hpcless::storage::xml
