// RouteTable: the route list of one JSON API below a prefix ("cases/:id/files"),
// matched against the path relative to that prefix. Patterns are split once;
// Find names the route, its ":name" arguments, and whether a miss is a 404 (no
// such path) or a 405 (the path exists under another method).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tongban::webapi {

// "a/b/c" -> {"a","b","c"}; "" -> {}; "a/" -> {"a"} (one trailing slash is
// ignored, as the APIs always did); "a//b" keeps the empty middle segment.
std::vector<std::string_view> SplitPath(std::string_view path);

// Whether `segments` fit `pattern` (":name" matches any non-empty segment);
// the matched arguments are appended to *args in order.
bool MatchPattern(const std::vector<std::string>& pattern,
                  const std::vector<std::string_view>& segments, std::vector<std::string>* args);

// Route: any struct with std::string members `method` and `pattern`.
template <typename Route>
class RouteTable {
 public:
  struct Found {
    const Route* route = nullptr;    // null: no route for this method and path
    std::vector<std::string> args;   // the ":name" segments, in order
    bool path_known = false;         // the path exists under another method (405)
  };

  void Add(Route route) {
    std::vector<std::string> split;
    for (std::string_view s : SplitPath(route.pattern)) split.emplace_back(s);
    entries_.push_back({std::move(route), std::move(split)});
  }

  // A GET route also answers HEAD when `head_as_get`.
  Found Find(std::string_view method, std::string_view relative, bool head_as_get = true) const {
    Found found;
    const std::vector<std::string_view> segments = SplitPath(relative);
    for (const Entry& entry : entries_) {
      std::vector<std::string> args;
      if (!MatchPattern(entry.pattern, segments, &args)) continue;
      found.path_known = true;
      if (entry.route.method != method &&
          !(head_as_get && method == "HEAD" && entry.route.method == "GET")) {
        continue;
      }
      found.route = &entry.route;
      found.args = std::move(args);
      return found;
    }
    return found;
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Route route;
    std::vector<std::string> pattern;
  };
  std::vector<Entry> entries_;
};

}  // namespace tongban::webapi
