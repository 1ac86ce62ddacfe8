#include "comm/storage/xml_lite.hpp"

#include <cstdint>

namespace hpcless::storage::xml {

namespace {

// Position of the next "<tag" that is followed by '>', '/', or whitespace; npos if none.
size_t find_open(std::string_view doc, std::string_view tag, size_t from) {
  while (true) {
    const size_t lt = doc.find('<', from);
    if (lt == std::string_view::npos || lt + 1 + tag.size() > doc.size())
      return std::string_view::npos;
    if (doc.compare(lt + 1, tag.size(), tag) == 0) {
      const size_t after = lt + 1 + tag.size();
      if (after < doc.size()) {
        const char c = doc[after];
        if (c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r') return lt;
      }
    }
    from = lt + 1;
  }
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::vector<std::string_view> elements(std::string_view doc, std::string_view tag) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while ((pos = find_open(doc, tag, pos)) != std::string_view::npos) {
    const size_t gt = doc.find('>', pos);
    if (gt == std::string_view::npos) break;
    if (doc[gt - 1] == '/') {  // <tag/>
      out.emplace_back();
      pos = gt + 1;
      continue;
    }
    const std::string close = "</" + std::string(tag) + ">";
    const size_t end = doc.find(close, gt + 1);
    if (end == std::string_view::npos) break;
    out.push_back(doc.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> text(std::string_view doc, std::string_view tag) {
  const size_t pos = find_open(doc, tag, 0);
  if (pos == std::string_view::npos) return std::nullopt;
  const size_t gt = doc.find('>', pos);
  if (gt == std::string_view::npos) return std::nullopt;
  if (doc[gt - 1] == '/') return std::string();
  const std::string close = "</" + std::string(tag) + ">";
  const size_t end = doc.find(close, gt + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return unescape(doc.substr(gt + 1, end - gt - 1));
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out.push_back('&');
    else if (ent == "lt")
      out.push_back('<');
    else if (ent == "gt")
      out.push_back('>');
    else if (ent == "quot")
      out.push_back('"');
    else if (ent == "apos")
      out.push_back('\'');
    else if (ent.size() > 1 && ent[0] == '#') {
      uint32_t cp = 0;
      const bool is_hex = ent[1] == 'x' || ent[1] == 'X';
      bool ok = ent.size() > (is_hex ? 2u : 1u);
      for (size_t k = is_hex ? 2 : 1; ok && k < ent.size(); ++k) {
        const char c = ent[k];
        int d = -1;
        if (c >= '0' && c <= '9')
          d = c - '0';
        else if (is_hex && c >= 'a' && c <= 'f')
          d = c - 'a' + 10;
        else if (is_hex && c >= 'A' && c <= 'F')
          d = c - 'A' + 10;
        if (d < 0)
          ok = false;
        else
          cp = cp * (is_hex ? 16 : 10) + static_cast<uint32_t>(d);
        if (cp > 0x10FFFF) ok = false;
      }
      if (!ok) {
        out.push_back('&');
        continue;
      }
      append_utf8(out, cp);
    } else {
      out.push_back('&');
      continue;
    }
    i = semi;
  }
  return out;
}

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string root_name(std::string_view doc) {
  size_t pos = 0;
  while (true) {
    pos = doc.find('<', pos);
    if (pos == std::string_view::npos || pos + 1 >= doc.size()) return {};
    if (doc[pos + 1] == '?' || doc[pos + 1] == '!') {  // declaration, comment, doctype
      pos = doc.find('>', pos);
      if (pos == std::string_view::npos) return {};
      continue;
    }
    size_t end = pos + 1;
    while (end < doc.size() && doc[end] != '>' && doc[end] != ' ' && doc[end] != '/' &&
           doc[end] != '\n' && doc[end] != '\r' && doc[end] != '\t')
      ++end;
    return std::string(doc.substr(pos + 1, end - pos - 1));
  }
}

}  // namespace hpcless::storage::xml
