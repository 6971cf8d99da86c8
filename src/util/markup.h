// Escaping text for XML and HTML (JUnit reports, the HTML report): the five characters that
// would end an attribute or start markup.
#pragma once

#include <string>
#include <string_view>

namespace gorepro {

inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace gorepro
