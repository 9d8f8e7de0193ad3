#include "webapi/route_table.h"

namespace tongban::webapi {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool MatchPattern(const std::vector<std::string>& pattern,
                  const std::vector<std::string_view>& segments, std::vector<std::string>* args) {
  if (pattern.size() != segments.size()) return false;
  const size_t first_arg = args->size();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].starts_with(':')) {
      if (segments[i].empty()) {
        args->resize(first_arg);
        return false;
      }
      args->emplace_back(segments[i]);
    } else if (pattern[i] != segments[i]) {
      args->resize(first_arg);
      return false;
    }
  }
  return true;
}

}  // namespace tongban::webapi
