#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/parse.h"
#include "codec/render.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "exchange/transfer_api.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"
#include "webapi/callers.h"
#include "webapi/errors.h"
#include "webapi/route_table.h"

namespace tongban::exchange {
namespace {

constexpr std::string_view kApiRoot = "/exchange/api/";
constexpr std::string_view kPrefix = "/exchange/api/transfers";

// API-level codes (transfer_code in transfer.h holds the store's).
constexpr int kSignatureRefused = 4031;
constexpr int kNotLoggedIn = 4011;
constexpr int kNotAdmin = 4033;
constexpr int kUseRange = 7107;
constexpr int kRangeUnsatisfiable = 7108;

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

int HttpStatusFor(const Error& e) {
  switch (e.code) {
    case transfer_code::kChunkCorrupt:
      return 400;
    case transfer_code::kChunkConflict:
    case transfer_code::kChunksMissing:
    case transfer_code::kWrongState:
    case transfer_code::kChunkBusy:
      return 409;
    case transfer_code::kDigestMismatch:
      return 422;
    case transfer_code::kQuotaExceeded:
      return 429;
    case transfer_code::kDiskFull:
      return 507;
    case kSignatureRefused:
    case kNotAdmin:
      return 403;
    case kNotLoggedIn:
      return 401;
    case kUseRange:
      return 413;
    case kRangeUnsatisfiable:
      return 416;
    default: {
      const int generic = webapi::GenericStatus(e.code);
      return generic != 0 ? generic : 500;
    }
  }
}

void WriteError(http::Response& response, const Error& e) {
  const int status = HttpStatusFor(e);
  if (status == 500) {
    spdlog::error("exchange transfers: {}", e.message);
    response.SetJson(500,
                     R"({"error":{"code":500,"message":"internal error, see the server log"}})");
    return;
  }
  codec::Value error = codec::Value::Object(2);
  error.Set("code", e.code >= 100 ? e.code : status).Set("message", e.message);
  response.SetJson(status,
                   codec::RenderJson(codec::Value::Object(1).Set("error", std::move(error))));
}

sso::SignedApiOptions SignedOptions(const sso::SsoSettings& s) {
  sso::SignedApiOptions o;
  o.soap_service = "ExchangeTransfers";
  o.sign_window = s.sign_window;
  o.replay_protection = s.replay_protection;
  o.time_zone = s.sign_time_zone;
  return o;
}

codec::Value TransferJson(const Transfer& t, const std::vector<ChunkRecord>* chunks) {
  codec::Value v = codec::Value::Object();
  v.Set("id", t.id)
      .Set("name", t.name)
      .Set("size", t.size)
      .Set("chunk_size", t.chunk_size)
      .Set("chunk_count", t.chunk_count())
      .Set("digest_algorithm", DigestAlgorithmName(t.digest_algorithm))
      .Set("digest", t.digest)
      .Set("resource_code", t.resource_code)
      .Set("sender", t.sender)
      .Set("encryption", TransferCipherName(t.cipher))
      .Set("state", TransferStateName(t.state))
      .Set("received_chunks", t.received_chunks)
      .Set("received_bytes", t.received_bytes)
      .Set("created_ms", t.created_ms)
      .Set("updated_ms", t.updated_ms)
      .Set("completed_ms", t.completed_ms);
  if (!t.error.empty()) v.Set("error", t.error);
  codec::Value subs = codec::Value::Array(t.subscribers.size());
  for (const std::string& s : t.subscribers) subs.Push(s);
  v.Set("subscribers", std::move(subs));
  if (chunks) {
    // What a resuming sender needs: which indexes arrived, which offsets not.
    codec::Value received = codec::Value::Array(chunks->size());
    std::vector<bool> have(static_cast<size_t>(t.chunk_count()), false);
    for (const ChunkRecord& c : *chunks) {
      received.Push(c.index);
      if (c.index < t.chunk_count()) have[static_cast<size_t>(c.index)] = true;
    }
    codec::Value missing = codec::Value::Array();
    for (size_t i = 0; i < have.size(); ++i) {
      if (!have[i]) missing.Push(static_cast<int64_t>(i) * t.chunk_size);
    }
    v.Set("received", std::move(received)).Set("missing_offsets", std::move(missing));
  }
  return v;
}

codec::Value InboxJson(const InboxEntry& e) {
  codec::Value v = codec::Value::Object();
  v.Set("transfer_id", e.transfer_id)
      .Set("name", e.name)
      .Set("size", e.size)
      .Set("digest_algorithm", DigestAlgorithmName(e.digest_algorithm))
      .Set("digest", e.digest)
      .Set("sender", e.sender)
      .Set("resource_code", e.resource_code)
      .Set("delivered_ms", e.delivered_ms)
      .Set("acknowledged_ms", e.acknowledged_ms);
  return v;
}

// RFC 5987 encoding for Content-Disposition's filename*.
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct ByteRange {
  int64_t first = 0;
  int64_t last = 0;  // inclusive
};

// One "bytes=a-b", "bytes=a-" or "bytes=-n" range of a `size`-byte file;
// nullopt with *unsatisfiable set when it lies outside the file, nullopt
// alone for a header we do not read (answered as if absent, as RFC 9110 allows).
std::optional<ByteRange> ParseRange(std::string_view header, int64_t size, bool* unsatisfiable) {
  *unsatisfiable = false;
  if (!header.starts_with("bytes=")) return std::nullopt;
  std::string_view spec = header.substr(6);
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  ByteRange r;
  if (a.empty()) {
    auto n = ParseInt(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    r.first = std::max<int64_t>(0, size - *n);
    r.last = size - 1;
    return r;
  }
  auto first = ParseInt(a);
  if (!first) return std::nullopt;
  std::optional<int64_t> last = b.empty() ? std::optional<int64_t>(size - 1) : ParseInt(b);
  if (!last || (!b.empty() && *last < *first)) return std::nullopt;
  if (*first >= size) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  r.first = *first;
  r.last = std::min(*last, size - 1);
  return r;
}

enum class Access { kSigned, kSignedOrAdmin };

struct Caller {
  std::string servicecode;  // the signed app; "" for an administrator
  bool admin = false;
};

class TransferApi {
 public:
  TransferApi(std::shared_ptr<TransferStore> store, sso::SsoContext& context)
      : store_(std::move(store)),
        context_(context),
        sessions_(context.tickets, context.clock, context.random,
                  sso::LifetimesOf(context.settings)),
        signed_api_(SignedOptions(context.settings), context.directory, context.tickets,
                    context.clock) {}

  void Handle(const http::Request& request, http::Response& response) {
    response.AddHeader("Cache-Control", "no-store");
    response.AddHeader("X-Content-Type-Options", "nosniff");
    const std::string_view relative = request.path().substr(kApiRoot.size());
    std::vector<std::string_view> s = webapi::SplitPath(relative);
    const std::string_view m = request.method();
    // s[0] == "transfers" (the route prefix guarantees it).
    const bool get = m == "GET" || m == "HEAD";
    if (s.empty() || s[0] != "transfers") {
      s.clear();
    } else if (s.size() == 1) {
      if (m == "POST")
        return WithCaller(request, response, relative, Access::kSigned,
                          [&](const Caller& c) { Start(c, request, response); });
      if (get)
        return WithCaller(request, response, relative, Access::kSignedOrAdmin,
                          [&](const Caller& c) { List(c, request, response); });
    } else if (s.size() >= 2 && s[1] == "inbox") {
      if (s.size() == 2 && get) {
        return WithCaller(request, response, relative, Access::kSigned,
                          [&](const Caller& c) { Inbox(c, request, response); });
      }
      if (s.size() == 3 && get) {
        return WithCaller(request, response, relative, Access::kSigned,
                          [&](const Caller& c) { InboxItem(c, s[2], response); });
      }
      if (s.size() == 4 && s[3] == "content" && get) {
        return WithCaller(request, response, relative, Access::kSigned,
                          [&](const Caller& c) { Download(c, s[2], request, response); });
      }
      if (s.size() == 4 && s[3] == "ack" && m == "POST") {
        return WithCaller(request, response, relative, Access::kSigned,
                          [&](const Caller& c) { Acknowledge(c, s[2], response); });
      }
    } else if (s.size() == 2 && get) {
      return WithCaller(request, response, relative, Access::kSignedOrAdmin,
                        [&](const Caller& c) { ShowStatus(c, s[1], response); });
    } else if (s.size() == 2 && m == "DELETE") {
      return WithCaller(request, response, relative, Access::kSigned,
                        [&](const Caller& c) { Cancel(c, s[1], response); });
    } else if (s.size() == 4 && s[2] == "chunks" && m == "PUT") {
      return WithCaller(request, response, relative, Access::kSigned,
                        [&](const Caller& c) { PutChunk(c, s[1], s[3], request, response); });
    } else if (s.size() == 3 && s[2] == "complete" && m == "POST") {
      return WithCaller(request, response, relative, Access::kSigned,
                        [&](const Caller& c) { Complete(c, s[1], response); });
    }
    WriteError(response, Error::NotFound("no such transfer interface: " + std::string(m) + " /" +
                                         std::string(relative)));
  }

 private:
  template <typename F>
  void WithCaller(const http::Request& request, http::Response& response, std::string_view relative,
                  Access access, F&& then) {
    auto caller = Authenticate(request, relative, access);
    if (!caller.ok()) {
      WriteError(response, caller.error());
      return;
    }
    then(*caller);
  }

  // A signed call when it carries a servicecode; else (where allowed) a
  // platform administrator's SSO session.
  Result<Caller> Authenticate(const http::Request& request, std::string_view relative,
                              Access access) {
    if (request.Param("servicecode")) return Signed(request, relative);
    if (access == Access::kSigned) {
      return Error{kSignatureRefused,
                   "a signed call is required (servicecode, time, signmethod, "
                   "nonce, sign; docs/integrate-zj.md §2a)"};
    }
    auto cookie = request.Cookie(sso::kSessionCookieName);
    if (!cookie || cookie->empty()) return Error{kNotLoggedIn, "log in first"};
    auto session = sessions_.Resume(*cookie);
    if (!session.ok()) {
      if (session.error().code == errc::kNotFound) return Error{kNotLoggedIn, "session expired"};
      return session.error();
    }
    auto admin = context_.directory.IsPlatformAdmin(session->userid);
    if (!admin.ok()) return admin.error();
    if (!*admin) return Error{kNotAdmin, "platform administrators only"};
    return Caller{"", true};
  }

  // tongban's request signature over the API path as the method, the body
  // bound by body_sha256 (as the approval API's department-system calls).
  Result<Caller> Signed(const http::Request& request, std::string_view relative) {
    webapi::QueryParams params(request);
    if (params.Get("signmethod").empty()) {
      return Error{kSignatureRefused,
                   "the request signature is required (signmethod=hmac-sha256 or hmac-sm3)"};
    }
    if (!request.body().empty()) {
      // A chunk's body is hashed once, by the store, against X-Chunk-SHA256;
      // the signature covers the same digest as body_sha256.
      const bool chunk = request.method() == "PUT";
      std::string_view announced = request.Header("X-Chunk-SHA256").value_or("");
      const bool bound = chunk ? !announced.empty() && params.Get("body_sha256") == announced
                               : crypto::ConstantTimeEquals(params.Get("body_sha256"),
                                                            crypto::Sha256Hex(request.body()));
      if (!bound) {
        return Error{kSignatureRefused, chunk ? "body_sha256 must equal X-Chunk-SHA256"
                                              : "body_sha256 does not match the body"};
      }
    }
    auto app = signed_api_.Authenticate(params, relative, request.remote_ip());
    if (!app.ok()) {
      return Error{kSignatureRefused, "signature refused: " + app.error().message + " (" +
                                          std::to_string(app.error().code) + ")"};
    }
    return Caller{(*app)->servicecode, false};
  }

  void Start(const Caller& c, const http::Request& request, http::Response& response) {
    auto body = codec::ParseJson(request.body());
    if (!body.ok() || !body->IsObject()) {
      return WriteError(response, Error::InvalidArgument("the body must be a JSON object"));
    }
    const codec::Value& b = *body;
    TransferRequest r;
    r.sender = c.servicecode;
    auto text = [&](std::string_view key) -> std::string {
      const std::string* s = b.FindString(key);
      return s ? *s : std::string();
    };
    auto integer = [&](std::string_view key, int64_t* out) -> bool {
      const codec::Value* v = b.Find(key);
      if (!v || v->IsNull()) return true;
      if (!v->IsInteger()) return false;
      *out = v->AsInteger();
      return true;
    };
    r.name = text("name");
    if (!b.Find("size") || !integer("size", &r.size) || !integer("chunk_size", &r.chunk_size)) {
      return WriteError(response, Error::InvalidArgument("size and chunk_size must be integers"));
    }
    auto alg =
        ParseDigestAlgorithm(b.Find("digest_algorithm") ? text("digest_algorithm") : "sha256");
    if (!alg.ok()) return WriteError(response, alg.error());
    r.digest_algorithm = *alg;
    r.digest = text("digest");
    r.resource_code = text("resource_code");
    if (const codec::Value* subs = b.Find("subscribers"); subs && !subs->IsNull()) {
      if (!subs->IsArray()) {
        return WriteError(response, Error::InvalidArgument("subscribers must be a list"));
      }
      for (const codec::Value& s : subs->items()) {
        if (!s.IsString()) {
          return WriteError(response, Error::InvalidArgument("subscribers must be servicecodes"));
        }
        r.subscribers.push_back(s.AsString());
      }
    }
    for (const std::string& s : r.subscribers) {
      auto app = context_.directory.CachedApp(s);
      if (!app.ok()) {
        return WriteError(response, Error::InvalidArgument("unknown subscriber " + s));
      }
    }
    auto cipher = ParseTransferCipher(text("encryption"));
    if (!cipher.ok()) return WriteError(response, cipher.error());
    r.cipher = *cipher;
    auto t = store_->Start(r);
    if (!t.ok()) return WriteError(response, t.error());
    codec::Value v = TransferJson(*t, nullptr);
    v.Set("max_chunk_size", store_->options().max_chunk_size);
    response.SetJson(201, codec::RenderJson(v));
  }

  void List(const Caller& c, const http::Request& request, http::Response& response) {
    int64_t limit = ParseInt(request.ParamOr("limit")).value_or(100);
    auto list = store_->List(c.admin ? std::string_view() : std::string_view(c.servicecode), limit);
    if (!list.ok()) return WriteError(response, list.error());
    codec::Value items = codec::Value::Array(list->size());
    for (const Transfer& t : *list) items.Push(TransferJson(t, nullptr));
    response.SetJson(200,
                     codec::RenderJson(codec::Value::Object(1).Set("transfers", std::move(items))));
  }

  // The transfer when the caller may see it (its sender, or an administrator).
  Result<Transfer> Owned(const Caller& c, std::string_view id) {
    auto t = store_->Get(id);
    if (!t.ok()) return t;
    if (!c.admin && t->sender != c.servicecode) return Error::NotFound("no such transfer");
    return t;
  }

  void ShowStatus(const Caller& c, std::string_view id, http::Response& response) {
    auto t = Owned(c, id);
    if (!t.ok()) return WriteError(response, t.error());
    auto chunks = store_->Chunks(id);
    if (!chunks.ok()) return WriteError(response, chunks.error());
    response.SetJson(200, codec::RenderJson(TransferJson(*t, &*chunks)));
  }

  void PutChunk(const Caller& c, std::string_view id, std::string_view offset_text,
                const http::Request& request, http::Response& response) {
    auto t = Owned(c, id);
    if (!t.ok()) return WriteError(response, t.error());
    auto offset = ParseInt(offset_text);
    if (!offset) return WriteError(response, Error::InvalidArgument("the offset must be a number"));
    std::optional<std::string_view> announced = request.Header("X-Chunk-SHA256");
    if (!announced || announced->empty()) {
      return WriteError(response, Error::InvalidArgument("X-Chunk-SHA256 header is required"));
    }
    auto put = store_->PutChunk(id, *offset, request.body(), *announced);
    if (!put.ok()) return WriteError(response, put.error());
    codec::Value v = codec::Value::Object();
    v.Set("offset", *offset)
        .Set("index", *offset / t->chunk_size)
        .Set("length", static_cast<int64_t>(request.body().size()))
        .Set("stored", *put == ChunkOutcome::kStored ? "new" : "already");
    response.SetJson(200, codec::RenderJson(v));
  }

  void Complete(const Caller& c, std::string_view id, http::Response& response) {
    auto t = Owned(c, id);
    if (!t.ok()) return WriteError(response, t.error());
    auto done = store_->Complete(id);
    if (!done.ok()) return WriteError(response, done.error());
    response.SetJson(200, codec::RenderJson(TransferJson(*done, nullptr)));
  }

  void Cancel(const Caller& c, std::string_view id, http::Response& response) {
    auto t = Owned(c, id);
    if (!t.ok()) return WriteError(response, t.error());
    auto cancelled = store_->Cancel(id);
    if (!cancelled.ok()) return WriteError(response, cancelled.error());
    auto after = store_->Get(id);
    if (!after.ok()) return WriteError(response, after.error());
    response.SetJson(200, codec::RenderJson(TransferJson(*after, nullptr)));
  }

  void Inbox(const Caller& c, const http::Request& request, http::Response& response) {
    const bool all = request.ParamOr("all") == "1" || request.ParamOr("all") == "true";
    auto items = store_->Inbox(c.servicecode, all);
    if (!items.ok()) return WriteError(response, items.error());
    codec::Value list = codec::Value::Array(items->size());
    for (const InboxEntry& e : *items) list.Push(InboxJson(e));
    response.SetJson(200, codec::RenderJson(codec::Value::Object(1).Set("files", std::move(list))));
  }

  void InboxItem(const Caller& c, std::string_view id, http::Response& response) {
    auto item = store_->InboxItem(c.servicecode, id);
    if (!item.ok()) return WriteError(response, item.error());
    response.SetJson(200, codec::RenderJson(InboxJson(*item)));
  }

  // The HTTP server holds a response whole in memory, so one answer carries
  // at most max_read_bytes: a larger file is fetched with Range requests (a
  // longer range is answered with its first max_read_bytes, as RFC 9110 allows).
  void Download(const Caller& c, std::string_view id, const http::Request& request,
                http::Response& response) {
    auto item = store_->InboxItem(c.servicecode, id);
    if (!item.ok()) return WriteError(response, item.error());
    const int64_t window = store_->options().max_read_bytes;
    response.AddHeader("Accept-Ranges", "bytes");
    response.AddHeader("X-Transfer-Size", std::to_string(item->size));
    response.AddHeader(
        "X-Transfer-Digest",
        std::string(DigestAlgorithmName(item->digest_algorithm)) + ":" + item->digest);
    response.AddHeader("Content-Disposition",
                       "attachment; filename*=UTF-8''" + PercentEncode(item->name));
    bool unsatisfiable = false;
    std::optional<ByteRange> range;
    if (auto header = request.Header("Range")) {
      range = ParseRange(*header, item->size, &unsatisfiable);
    }
    if (unsatisfiable) {
      response.AddHeader("Content-Range", "bytes */" + std::to_string(item->size));
      return WriteError(response, Error{kRangeUnsatisfiable, "the range is outside the file"});
    }
    if (!range) {
      if (item->size > window) {
        return WriteError(response,
                          Error{kUseRange, "the file is larger than " + std::to_string(window) +
                                               " bytes: fetch it with Range requests"});
      }
      auto bytes = store_->Read(c.servicecode, id, 0, item->size);
      if (!bytes.ok()) return WriteError(response, bytes.error());
      response.set_status(200);
      response.set_content_type("application/octet-stream");
      response.set_body(std::move(*bytes));
      return;
    }
    const int64_t length = std::min(range->last - range->first + 1, window);
    auto bytes = store_->Read(c.servicecode, id, range->first, length);
    if (!bytes.ok()) return WriteError(response, bytes.error());
    const int64_t last = range->first + static_cast<int64_t>(bytes->size()) - 1;
    response.AddHeader("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                            std::to_string(last) + "/" +
                                            std::to_string(item->size));
    response.set_status(206);
    response.set_content_type("application/octet-stream");
    response.set_body(std::move(*bytes));
  }

  void Acknowledge(const Caller& c, std::string_view id, http::Response& response) {
    auto done = store_->Acknowledge(c.servicecode, id);
    if (!done.ok()) return WriteError(response, done.error());
    response.SetJson(200, R"({"acknowledged":true})");
  }

  std::shared_ptr<TransferStore> store_;
  sso::SsoContext& context_;
  sso::SessionStore sessions_;
  sso::SignedApi signed_api_;
};

}  // namespace

Status RegisterTransferRoutes(http::Router& router, std::shared_ptr<TransferStore> store,
                              sso::SsoContext& context) {
  auto api = std::make_shared<TransferApi>(std::move(store), context);
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.AddPrefix(
        method, kPrefix,
        // Every handler reads SQL or files, hashes or fsyncs: off the I/O threads.
        [api](const http::Request& request, http::Response& response) {
          response.Defer([api, &request](http::Response& r) { api->Handle(request, r); });
        },
        "/exchange/api/transfers*");
  }
  return Status::Ok();
}

}  // namespace tongban::exchange
