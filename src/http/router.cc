#include "http/router.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace tongban::http {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct Router::Impl {
  struct Route {
    std::string method;
    std::string pattern;
    std::string label;
    Handler handler;
    ParamErrors param_errors = ParamErrors::kServer;
  };
  struct Prefix {
    std::string prefix;
    std::vector<size_t> routes;
  };

  std::vector<Route> routes;
  std::unordered_map<std::string, std::vector<size_t>, StringHash, std::equal_to<>> exact;
  std::vector<Prefix> prefixes;  // longest first

  void Register(std::vector<size_t>& ids, std::string_view method, std::string_view pattern,
                Handler handler, std::string label) {
    for (size_t id : ids) {
      if (routes[id].method == method) {
        throw std::invalid_argument("route registered twice: " + std::string(method) + " " +
                                    std::string(pattern));
      }
    }
    ids.push_back(routes.size());
    routes.push_back(Route{std::string(method), std::string(pattern), std::move(label),
                           std::move(handler)});
  }

  // The route among `ids` serving `method`, or kNoRoute.
  size_t Pick(const std::vector<size_t>& ids, std::string_view method) const {
    size_t get = kNoRoute;
    size_t any = kNoRoute;
    for (size_t id : ids) {
      const std::string& m = routes[id].method;
      if (m == method) return id;
      if (m == "GET") get = id;
      if (m == "*") any = id;
    }
    if (method == "HEAD" && get != kNoRoute) return get;
    return any;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::string_view method, std::string_view path, Handler handler,
                 std::string_view label, ParamErrors param_errors) {
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("route path must start with '/': " + std::string(path));
  }
  auto it = impl_->exact.find(path);
  if (it == impl_->exact.end()) it = impl_->exact.emplace(std::string(path), std::vector<size_t>{}).first;
  impl_->Register(it->second, method, path, std::move(handler),
                  std::string(label.empty() ? path : label));
  impl_->routes.back().param_errors = param_errors;
}

void Router::AddPrefix(std::string_view method, std::string_view prefix, Handler handler,
                       std::string_view label) {
  if (prefix.empty() || prefix.front() != '/') {
    throw std::invalid_argument("route prefix must start with '/': " + std::string(prefix));
  }
  auto& prefixes = impl_->prefixes;
  auto it = std::find_if(prefixes.begin(), prefixes.end(),
                         [&](const Impl::Prefix& p) { return p.prefix == prefix; });
  if (it == prefixes.end()) {
    // Keep longest-first order so Find can stop at the first fitting prefix.
    auto pos = std::find_if(prefixes.begin(), prefixes.end(),
                            [&](const Impl::Prefix& p) { return p.prefix.size() < prefix.size(); });
    it = prefixes.insert(pos, Impl::Prefix{std::string(prefix), {}});
  }
  impl_->Register(it->routes, method, prefix, std::move(handler),
                  label.empty() ? std::string(prefix) + "*" : std::string(label));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  size_t path_owner = kNoRoute;
  auto exact = impl_->exact.find(path);
  if (exact != impl_->exact.end()) {
    size_t id = impl_->Pick(exact->second, method);
    if (id != kNoRoute) {
      match.handler = &impl_->routes[id].handler;
      match.route = id;
      return match;
    }
    path_owner = exact->second.front();
  }
  for (const Impl::Prefix& p : impl_->prefixes) {
    if (!path.starts_with(p.prefix)) continue;
    size_t id = impl_->Pick(p.routes, method);
    if (id != kNoRoute) {
      match.handler = &impl_->routes[id].handler;
      match.route = id;
      return match;
    }
    if (path_owner == kNoRoute) path_owner = p.routes.front();
  }
  match.status = path_owner == kNoRoute ? 404 : 405;
  match.route = path_owner;
  return match;
}

std::string Router::AllowedMethods(std::string_view path) const {
  std::vector<std::string> methods;
  auto collect = [&](const std::vector<size_t>& ids) {
    for (size_t id : ids) {
      const std::string& m = impl_->routes[id].method;
      if (m == "*") continue;
      methods.push_back(m);
      if (m == "GET") methods.push_back("HEAD");
    }
  };
  auto exact = impl_->exact.find(path);
  if (exact != impl_->exact.end()) collect(exact->second);
  for (const Impl::Prefix& p : impl_->prefixes) {
    if (path.starts_with(p.prefix)) collect(p.routes);
  }
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  std::string out;
  for (const std::string& m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

size_t Router::size() const { return impl_->routes.size(); }

std::string_view Router::label(size_t route) const { return impl_->routes[route].label; }

ParamErrors Router::param_errors(size_t route) const { return impl_->routes[route].param_errors; }

}  // namespace tongban::http
