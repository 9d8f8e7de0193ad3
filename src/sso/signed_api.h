// SignedApi: one server-to-server interface of the SSO specification
// (easyAuth, commnetAuth, users & orgs) served both as an HTTP servlet
// (`method=<name>`, GET query and POST form merged) and as a SOAP service
// (document/literal wrapped, WSDL at `?wsdl`). It authenticates every call
// (servicecode, time, sign, source IP, replay) once, then dispatches to the
// method's handler, which builds a reply tree rendered as XML or JSON.
// Calls carry the spec's signature or tongban's request signature (an HMAC
// over the method, every parameter and a nonce; docs/integrate-zj.md §2a).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/render.h"
#include "codec/value.h"
#include "core/clock.h"
#include "directory/directory.h"
#include "http/request.h"
#include "http/response.h"
#include "store/ticket_store.h"

namespace tongban::codec {
struct SoapCall;
}  // namespace tongban::codec

namespace tongban::sso {

// A call's parameters, whichever binding carried them. Absent = "".
class CallParams {
 public:
  virtual ~CallParams() = default;
  virtual std::string_view Get(std::string_view name) const = 0;
  // Every name the call carries, in any order, a repeated name any number of
  // times (for the request signature, which covers them all, each once).
  virtual std::vector<std::string_view> Names() const = 0;
};

// A replay mark an asynchronous method sets itself, in the same store call
// as its own work (TicketExchange::mark_key): the key as a TicketStore key
// and how long it must live.
struct ReplayMark {
  std::string key;
  std::chrono::milliseconds ttl{0};
};

// What a method handler gets: the authenticated caller and its parameters.
struct ApiCall {
  std::string_view method;
  const directory::App& app;  // the calling access resource, signature checked
  const CallParams& params;
  std::string_view remote_ip;
  codec::Format format;
  // Asynchronous methods only: the replay mark this call must set, not yet
  // set (null: none needed). Its store must answer "replayed" with code 9906.
  const ReplayMark* mark = nullptr;
  // Memory-first methods only: kMemoryOnly on the I/O thread's try, whose
  // directory reads must not touch the database (directory::Lookup).
  directory::Lookup lookup = directory::Lookup::kMayLoad;

  std::string_view Param(std::string_view name) const { return params.Get(name); }
};

using MethodHandler = std::function<codec::Value(const ApiCall&)>;

// What a memory-first read answers: a reply tree, or the reply already
// rendered in the call's format (ApiCall::format) — text kept with an
// immutable snapshot (directory::RenderMemo), which `rendered` keeps alive.
// Both bindings use the text as codec::Render would have made it (the HTTP
// body; the SOAP envelope's return).
struct MethodReply {
  MethodReply(codec::Value v) : value(std::move(v)) {}  // NOLINT(google-explicit-constructor)
  static MethodReply Rendered(std::shared_ptr<const std::string> text) {
    MethodReply r{codec::Value()};
    r.rendered = std::move(text);
    return r;
  }
  codec::Value value;
  std::shared_ptr<const std::string> rendered;  // set: `value` is unused
};

// A read that answers from memory when it can (AddMemoryFirstMethod): with
// call.lookup == kMemoryOnly it returns nullopt when it would need the
// database; with kMayLoad it must answer.
using MemoryFirstHandler = std::function<std::optional<MethodReply>(const ApiCall&)>;
// How an asynchronous handler answers, once, from any thread: `reply` runs
// on the request's I/O thread with directory::Lookup::kMemoryOnly and builds
// the reply there; when it returns nullopt (its directory reads would need
// the database) it runs again on the blocking pool with kMayLoad, where it
// must answer.
using AsyncReply = std::function<std::optional<codec::Value>(directory::Lookup)>;
using ReplyWith = std::function<void(AsyncReply reply)>;
// A handler whose store calls are asynchronous (TicketStore::ExchangeAsync):
// it must copy what it needs of the ApiCall, which dies when it returns.
using AsyncMethodHandler = std::function<void(const ApiCall&, ReplyWith)>;

// How the spec's `time` (yyyyMMddHHmmss, no zone) is read. The spec's
// callers are on China Standard Time, whatever the server's host zone is.
struct SpecTimeZone {
  bool host_local = false;              // the host's zone (TZ), as before issue 12
  std::chrono::minutes offset{8 * 60};  // east of UTC, when not host_local
};
// "+08:00", "-05:30", "+0800", "Z", "UTC" or "local". InvalidArgument otherwise.
Result<SpecTimeZone> ParseSpecTimeZone(std::string_view text);

struct SignedApiOptions {
  std::string soap_service;  // e.g. "SimpleAuthService"
  // Absolute URL for the WSDL's soap:address; empty = taken from each
  // request's Host header, as Java SOAP stacks do.
  std::string soap_endpoint_url;
  std::chrono::seconds sign_window{300};
  bool replay_protection = true;
  SpecTimeZone time_zone;
  // Accept a password parameter (password, oldpassword, newpassword) in a GET
  // call's URL, where proxies and access logs keep it. Off: refused with 9907.
  bool passwords_over_get = false;
};

// What a method does, for the checks that depend on it.
enum class MethodEffect {
  // Harmless to repeat: identical spec-signed calls all pass (two clients may
  // ask the same thing in the same second).
  kRead,
  // Redeems or mints a credential (ticket, authcode, token, a login): a
  // replayed spec-signed call is refused (9906).
  kCredential,
  // Redeems a single-use grant named in its parameters (ticketValidation's
  // st) in one atomic store step: a replayed spec-signed call finds the
  // grant gone and fails on its own, so no replay mark is set for it (one
  // keyspace write less per call; docs/security.md). A request-signed call's
  // nonce stays single-use as for every method.
  kRedeemsSingleUse,
  // Changes state: refused over GET (9907) and refused when replayed (9906).
  kWrite,
};

// Where a method's handler runs. kBlocking: it hashes a password or writes
// the directory, so the HTTP and SOAP bindings defer it to the server's
// blocking pool (http::Response::Defer) rather than hold up an I/O thread.
// kCheap methods run on the I/O thread with a memory ticket store and on the
// blocking pool with a Remote() one (their store calls wait on the network).
// kMemoryFirst (AddMemoryFirstMethod): tried on the I/O thread from memory,
// deferred to the blocking pool only when that try needs the database or a
// remote store (a replay mark on Redis).
enum class MethodCost { kCheap, kBlocking, kMemoryFirst };

class SignedApi {
 public:
  SignedApi(SignedApiOptions options, directory::Directory& directory, TicketStore& tickets,
            Clock& clock);

  // Registers `name` with the method-specific parameters in WSDL order (the
  // common servicecode, time, sign first and datatype, signmethod, nonce
  // last are added here).
  // A method is kWrite until SetEffect says otherwise: forgetting to classify
  // one fails closed.
  void AddMethod(std::string name, std::vector<std::string> params, MethodHandler handler,
                 MethodCost cost = MethodCost::kCheap);
  // A method whose handler waits on nothing: it answers through ReplyWith
  // when its asynchronous store call completes, and the I/O thread serves
  // other requests meanwhile (http::Response::Suspend).
  void AddAsyncMethod(std::string name, std::vector<std::string> params,
                      AsyncMethodHandler handler);
  // A read (MethodEffect::kRead is set here) answered on the I/O thread when
  // everything it needs is in memory, and on the blocking pool otherwise
  // (MethodCost::kMemoryFirst): a cache hit costs no thread hop.
  void AddMemoryFirstMethod(std::string name, std::vector<std::string> params,
                            MemoryFirstHandler handler);
  // std::logic_error for a method not added.
  void SetEffect(std::string_view method, MethodEffect effect);

  // The HTTP servlet binding: `method` selects the handler; 9800 when unknown.
  void HandleHttp(const http::Request& request, http::Response& response) const;
  // The SOAP binding: GET ?wsdl serves the WSDL; POST an envelope.
  void HandleSoap(const http::Request& request, http::Response& response) const;

  // The signature check alone, exposed for tests: the app, or the 99xx reply.
  Result<std::shared_ptr<const directory::App>> Authenticate(const CallParams& params,
                                                             std::string_view method,
                                                             std::string_view remote_ip) const;
  std::string Wsdl(std::string_view endpoint_url) const;

 private:
  // Renders a reply into the response (the HTTP or the SOAP binding's way).
  using Render = std::function<void(http::Response&, const MethodReply&)>;
  // The reply, or nothing when an asynchronous method suspended `response`
  // and will render into it with `render` later, or when (*to_pool set) a
  // memory-first method's try with `lookup` kMemoryOnly needs the database:
  // the caller then runs the call again on the blocking pool.
  std::optional<MethodReply> Dispatch(std::string_view method, const CallParams& params,
                                       std::string_view remote_ip, codec::Format format,
                                       bool over_get, http::Response& response,
                                       const Render& render, directory::Lookup lookup,
                                       bool* to_pool) const;
  Result<std::shared_ptr<const directory::App>> Authenticate(
      const CallParams& params, std::string_view method, std::string_view remote_ip,
      ReplayMark* defer_mark, directory::Lookup lookup = directory::Lookup::kMayLoad) const;
  struct Method;
  std::optional<MethodReply> DispatchMemoryFirst(const Method& m, std::string_view method,
                                                  const CallParams& params,
                                                  std::string_view remote_ip, codec::Format format,
                                                  directory::Lookup lookup, bool* to_pool) const;
  MethodEffect EffectOf(std::string_view method) const;
  // Sets the replay mark of `key_material` (hashed into a TicketStore key)
  // for as long as a call of `time` is acceptable; kReplayed when it was set.
  // With `defer_mark`, only says which mark to set, in *defer_mark.
  Status MarkOnce(std::string_view key_material, std::chrono::system_clock::time_point time,
                  ReplayMark* defer_mark = nullptr) const;
  bool Blocking(std::string_view method) const;
  // `lookup` kMemoryOnly: on the I/O thread (memory-first methods try from
  // memory and defer on a miss); kMayLoad: on the blocking pool.
  void AnswerHttp(const http::Request& request, http::Response& response,
                  directory::Lookup lookup) const;
  void AnswerSoap(const http::Request& request, const codec::SoapCall& call,
                  http::Response& response, directory::Lookup lookup) const;

  struct Method {
    std::vector<std::string> params;
    MethodHandler handler;
    AsyncMethodHandler async_handler;  // set instead of handler for async methods
    MemoryFirstHandler memory_handler;  // set instead of handler for kMemoryFirst
    MethodCost cost = MethodCost::kCheap;
    MethodEffect effect = MethodEffect::kWrite;
  };
  // Transparent, so a call's method name (a string_view into the request) is
  // looked up without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  SignedApiOptions options_;
  directory::Directory& directory_;
  TicketStore& tickets_;
  Clock& clock_;
  std::unordered_map<std::string, Method, NameHash, std::equal_to<>> methods_;
  std::vector<std::string> method_order_;
};

// Parses the specification's `time` (yyyyMMddHHmmss in `zone`) into a time
// point; InvalidArgument when malformed or not a real date.
Result<std::chrono::system_clock::time_point> ParseSpecTime(std::string_view time,
                                                            SpecTimeZone zone = {});
// Formats a time point as yyyyMMddHHmmss in `zone`.
std::string FormatSpecTime(std::chrono::system_clock::time_point t, SpecTimeZone zone = {});

// The string a request signature covers (docs/integrate-zj.md §2a):
// "TB1\n" + method + "\n" + every parameter but `sign` and `method`, sorted by
// name, as percent-encoded name=value pairs joined by '&'.
std::string CanonicalRequest(std::string_view method, const CallParams& params);

}  // namespace tongban::sso
