// URL and form encoding for the HTTP module: percent-encoding, query and
// x-www-form-urlencoded parsing into an ordered Params list, and building
// redirect URLs (AppendQuery adds ticket=...&sp=...). Used by the server and
// by protocol handlers that build URLs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/utf8.h"
#include "http/charset.h"

namespace tongban::http {

// Where a parameter came from. The SSO interface accepts the same names in
// the URL query and in a form body, so a request carries both.
enum class ParamSource : uint8_t { kQuery, kBody };

// An ordered list of decoded (name, value) pairs that may repeat names.
// Values are stored in one buffer that is reused after Clear(), so refilling
// a Params for each request on a connection does not allocate once warm.
// The string_views it hands out are valid until the next Add() or Clear().
class Params {
 public:
  struct Entry {
    std::string_view name;
    std::string_view value;
    ParamSource source;
  };

  class Iterator {
   public:
    Iterator(const Params* params, size_t i) : params_(params), i_(i) {}
    Entry operator*() const { return params_->at(i_); }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const Iterator& other) const { return i_ == other.i_; }

   private:
    const Params* params_;
    size_t i_;
  };

  void Add(std::string_view name, std::string_view value,
           ParamSource source = ParamSource::kQuery);

  // The value of the first parameter called `name` from the body; if the body
  // has none, the first from the query. (Java servlet containers prefer the
  // query; tongban prefers the body because a form POST is what a client
  // deliberately sent, while the URL may carry leftovers.)
  std::optional<std::string_view> Get(std::string_view name) const;
  // As Get, with `fallback` when the parameter is absent.
  std::string_view GetOr(std::string_view name, std::string_view fallback = {}) const;
  // Every value of `name`, body values first, then query values, each in
  // wire order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  // Entries in insertion order: the query's first, then the body's.
  Entry at(size_t i) const;
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, slots_.size()); }

  void Clear();

 private:
  struct Slot {
    uint32_t name_offset;
    uint32_t name_size;
    uint32_t value_offset;
    uint32_t value_size;
    ParamSource source;
  };
  std::string storage_;
  std::vector<Slot> slots_;
};

// Percent-encodes every byte except the unreserved set A-Z a-z 0-9 - . _ ~
// (space becomes %20), so the result is safe in a path, a query or a form.
std::string UrlEncode(std::string_view s);

// Decodes %XX escapes and, with form semantics, '+' as a space. A '%' not
// followed by two hex digits is an error (InvalidArgument). The result is
// raw bytes: it is not checked for UTF-8.
Result<std::string> UrlDecode(std::string_view s);
// As UrlDecode, for a URL path: '+' stays '+'.
Result<std::string> UrlDecodePath(std::string_view s);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
using ::tongban::IsValidUtf8;

// Parses `a=1&b=%E4%B8%AD&c` (a query without '?', or a form body): pairs
// separated by '&', empty pairs skipped, a name without '=' gets an empty
// value, percent-escapes and '+' decoded. The decoded bytes are text in
// `charset` (a form body may declare GBK) and are stored as UTF-8. Appends
// to `out` with `source`. Fails with InvalidArgument on a bad %-escape or a
// name or value that is not text in `charset`; the message names the
// parameter when it can. On failure `out` may hold the parameters before the
// bad one.
Status ParseQueryInto(std::string_view encoded, ParamSource source, Params& out,
                      Charset charset = Charset::kUtf8);
// As ParseQueryInto into a fresh Params (source kQuery).
Result<Params> ParseQuery(std::string_view encoded);

// Encodes pairs as an x-www-form-urlencoded body (or a query string).
std::string EncodeForm(const std::vector<std::pair<std::string, std::string>>& pairs);

// The RFC 3986 §6.2.2 normal form of an absolute http(s) URL or URL prefix:
// the form in which a URL an app sends is compared with the prefixes it
// registered. Scheme and host are lower-cased; in the path, escapes of
// unreserved characters are decoded, other escapes upper-cased, bytes outside
// the URL character set escaped, and dot segments removed (§5.2.4), "%2e"
// counting as "." as browsers count it. Query and fragment are kept as sent,
// an empty path stays empty and ports are kept (dropping ":80" would widen a
// prefix "http://h:80" to every port).
// Refused with InvalidArgument rather than guessed at, because the servers
// behind an app read them differently: a scheme other than http(s), no host,
// user info or any character but letters, digits, '.', '-', '_', ':', '[',
// ']' in the host, whitespace, control characters or '\' anywhere, a
// malformed escape, an escaped '/' or '\' in the path, a double-escaped '.',
// '/', '\' or '%' ("%252e": a server decoding twice climbs), and a dot
// segment with a path parameter ("..;", ".;x": Tomcat drops the parameter
// and climbs). `removed_dot_segments`, when given, says whether the path had
// any dot segment (callers may refuse those outright).
Result<std::string> NormaliseHttpUrl(std::string_view url, bool* removed_dot_segments = nullptr);

// Adds `key=value` (both encoded) to `url`'s query, keeping a #fragment at
// the end: AppendQuery("http://a/cb?x=1#f", "ticket", "T") is
// "http://a/cb?x=1&ticket=T#f".
std::string AppendQuery(std::string_view url, std::string_view key, std::string_view value);

}  // namespace tongban::http
