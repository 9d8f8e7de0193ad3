#include "store/redis_ticket_store.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <initializer_list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "store/redis_pipeline.h"
#include "store/ticket_store_checks.h"

namespace tongban {
namespace {

namespace checks = ticket_store_checks;

// GETDEL for servers older than 6.2; atomic because Redis runs scripts alone.
constexpr std::string_view kGetDelScript =
    "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v";
// SADD and PEXPIRE together, so a crash between them cannot leave a set without a TTL.
constexpr std::string_view kAddToSetScript =
    "redis.call('SADD', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1";
// TicketStore::Exchange in one step. ARGV: 1 mark key ("" = none), 2 mark
// ttl, 3 redeem key, 4 now ms, 5 expiry field, 6 owner field, 7 guard prefix
// ("" = none),
// 8 put key, 9 put template, 10 put ttl, 11 set prefix, 12 set member, 13 set
// ttl, 14 consume ("1": remove the record), then pairs (field, text). Returns {outcome} or
// {outcome, record} with the outcome numbered as TicketExchangeResult::Outcome. The guard and set
// keys derive from the record, so they cannot be declared in KEYS: fine on
// one Redis (or Sentinel), not on Redis Cluster.
constexpr std::string_view kExchangeScript = R"lua(
local a = ARGV
if a[1] ~= '' and not redis.call('SET', a[1], '1', 'NX', 'PX', a[2]) then return {0} end
local rec = redis.call('GET', a[3])
if not rec then return {1} end
if a[14] == '1' then redis.call('DEL', a[3]) end
local f = {}
for x in string.gmatch(rec .. '|', '([^|]*)|') do f[#f + 1] = x end
for i = 15, #a - 1, 2 do
  if f[tonumber(a[i]) + 1] ~= a[i + 1] then return {2, rec} end
end
local exp = f[tonumber(a[5]) + 1]
local owner = f[tonumber(a[6]) + 1]
if not exp or not string.match(exp, '^%-?%d+$') or tonumber(exp) <= tonumber(a[4])
   or not owner or owner == '' then return {2, rec} end
if a[7] ~= '' and redis.call('EXISTS', a[7] .. owner) == 1 then return {3, rec} end
local v = string.gsub(a[9], '{(%d)}', function(d) return f[tonumber(d) + 1] or '' end)
redis.call('SET', a[8], v, 'PX', a[10])
local s = a[11] .. owner
redis.call('SADD', s, a[12])
redis.call('PEXPIRE', s, a[13])
return {4, rec}
)lua";
// Exchanges of one kind (e.g. every easyAuth ticketValidation) differ only
// in a few arguments: the rest — which fields are required, the expiry and
// owner fields, the guard and set prefixes, the TTLs of what is issued,
// whether a mark is set and the record consumed — is the same for all of
// them, and is written into a script of its own (a "shape") instead of
// being sent with every call: Redis makes an object of each argument
// (~95 ns each, bench/redis_script_cost.py) and the generic script converts
// the field numbers with tonumber on every call. A validation sends 8
// arguments instead of 20. Past kMaxExchangeShapes shapes (a caller whose
// constants vary per call) the generic script is used.
constexpr size_t kMaxExchangeShapes = 32;
constexpr size_t kMaxShapePrefix = 256;  // longer guard/set prefixes: the generic script
constexpr size_t kMaxShapeRequirements = 8;

// `text` as a Lua string literal: every byte outside a plain set as a
// decimal escape, so no prefix can end the literal or inject code.
void AppendLuaString(std::string& out, std::string_view text) {
  out.push_back('\'');
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
        c == '_' || c == '-' || c == '.' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      char escaped[5] = {'\\', static_cast<char>('0' + c / 100),
                         static_cast<char>('0' + c / 10 % 10), static_cast<char>('0' + c % 10), 0};
      out.append(escaped, 4);
    }
  }
  out.push_back('\'');
}

bool Shapeable(const TicketExchange& op) {
  return op.guard_prefix.size() <= kMaxShapePrefix && op.set_prefix.size() <= kMaxShapePrefix &&
         op.require.size() <= kMaxShapeRequirements;
}

// The lean form of a shape (LeanExchangeScript) applies when the required
// fields are the record's first ones (0..k-1, in order), the owner and
// expiry fields come after them, and the template copies one run of
// consecutive fields "{i}|{i+1}|…|{j}" (j no later than the owner or expiry
// field, so every field of the run exists once those checks passed) between
// a head and a tail that hold no placeholder — as every exchange sso/ makes.
// Then the script neither splits the record nor substitutes the template:
// the required fields are one prefix comparison, the owner and expiry are
// found by position, and the new record is head .. the run's bytes .. tail
// (bench/redis_script_cost.py: −25–30 % of Redis's CPU a validation).
struct LeanRun {
  int first = -1;  // i; -1: the template is not of the lean form
  int last = -1;   // j
  size_t head = 0;  // bytes of the template before the run
  size_t tail = 0;  // where the text after the run starts
};

LeanRun LeanRunOf(const TicketExchange& op) {
  LeanRun none;
  for (size_t i = 0; i < op.require.size(); ++i) {
    if (op.require[i].first != static_cast<int>(i)) return none;
  }
  const int k = static_cast<int>(op.require.size());
  if (k == 0 || op.owner_field < k || op.expiry_field < k) return none;
  const std::string_view t = op.put_template;
  auto placeholder_at = [&](size_t at) {
    return at + 2 < t.size() && t[at] == '{' && t[at + 1] >= '0' && t[at + 1] <= '9' &&
           t[at + 2] == '}';
  };
  size_t at = 0;
  while (at < t.size() && !placeholder_at(at)) ++at;
  if (at == t.size()) return none;
  LeanRun run;
  run.head = at;
  run.first = run.last = t[at + 1] - '0';
  at += 3;
  while (at + 3 < t.size() && t[at] == '|' && placeholder_at(at + 1) &&
         t[at + 2] - '0' == run.last + 1) {
    ++run.last;
    at += 4;
  }
  run.tail = at;
  for (size_t rest = at; rest < t.size(); ++rest) {
    if (placeholder_at(rest)) return none;
  }
  if (run.last < k || run.last > std::max(op.owner_field, op.expiry_field)) return none;
  return run;
}

// What a shape is made of, as a map key (`run`: LeanRunOf(op)).
void AppendShapeKey(std::string& key, const TicketExchange& op, const LeanRun& run) {
  if (run.first >= 0) {
    key.push_back('L');
    key.push_back(static_cast<char>('0' + run.first));
    key.push_back(static_cast<char>('0' + run.last));
  }
  key.push_back(op.mark_key.empty() ? '-' : 'm');
  key.push_back(op.consume ? 'c' : '-');
  key.push_back(static_cast<char>('0' + op.expiry_field));
  key.push_back(static_cast<char>('0' + op.owner_field));
  for (const auto& r : op.require) key.push_back(static_cast<char>('0' + r.first));
  key.append("|").append(std::to_string(op.put_ttl.count()));
  key.append("|").append(std::to_string(op.set_ttl.count()));
  key.append("|").append(std::to_string(op.guard_prefix.size())).append(":").append(op.guard_prefix);
  key.append(op.set_prefix);
}

// The shape's script. ARGV: [mark key, mark ttl,] redeem key, now ms, put
// key, put template, set member, then the required fields' texts in order.
// Same outcomes and replies as kExchangeScript.
std::string ShapedExchangeScript(const TicketExchange& op, std::string_view key_prefix) {
  const int base = op.mark_key.empty() ? 1 : 3;
  const std::string redeem = "a[" + std::to_string(base) + "]";
  const std::string now = "a[" + std::to_string(base + 1) + "]";
  const std::string put = "a[" + std::to_string(base + 2) + "]";
  const std::string tmpl = "a[" + std::to_string(base + 3) + "]";
  const std::string member = "a[" + std::to_string(base + 4) + "]";
  auto field = [](int n) { return "f[" + std::to_string(n + 1) + "]"; };
  std::string s = "local a = ARGV\n";
  if (!op.mark_key.empty()) {
    s += "if not redis.call('SET', a[1], '1', 'NX', 'PX', a[2]) then return {0} end\n";
  }
  s += "local rec = redis.call('GET', " + redeem + ")\nif not rec then return {1} end\n";
  if (op.consume) s += "redis.call('DEL', " + redeem + ")\n";
  s += "local f = {}\nfor x in string.gmatch(rec .. '|', '([^|]*)|') do f[#f + 1] = x end\n";
  if (!op.require.empty()) {
    s += "if ";
    for (size_t i = 0; i < op.require.size(); ++i) {
      if (i > 0) s += " or ";
      s += field(op.require[i].first) + " ~= a[" + std::to_string(base + 5 + i) + "]";
    }
    s += " then return {2, rec} end\n";
  }
  s += "local exp = " + field(op.expiry_field) + "\nlocal owner = " + field(op.owner_field) + "\n";
  s += "if not exp or not string.match(exp, '^%-?%d+$') or tonumber(exp) <= tonumber(" + now +
       ")\n   or not owner or owner == '' then return {2, rec} end\n";
  if (!op.guard_prefix.empty()) {
    s += "if redis.call('EXISTS', ";
    AppendLuaString(s, std::string(key_prefix) + "v:" + op.guard_prefix);
    s += " .. owner) == 1 then return {3, rec} end\n";
  }
  s += "local v = string.gsub(" + tmpl +
       ", '{(%d)}', function(d) return f[tonumber(d) + 1] or '' end)\n";
  s += "redis.call('SET', " + put + ", v, 'PX', '" + std::to_string(op.put_ttl.count()) + "')\n";
  s += "local s = ";
  AppendLuaString(s, std::string(key_prefix) + "s:" + op.set_prefix);
  s += " .. owner\nredis.call('SADD', s, " + member + ")\n";
  s += "redis.call('PEXPIRE', s, '" + std::to_string(op.set_ttl.count()) + "')\nreturn {4, rec}\n";
  return s;
}

// The lean form (LeanRunOf). ARGV: [mark key, mark ttl,] redeem key, now
// ms, put key, the template's head, set member, the template's tail, then
// the required fields' texts in order. Same outcomes and replies, and the
// same record issued, as ShapedExchangeScript.
std::string LeanExchangeScript(const TicketExchange& op, const LeanRun& run,
                               std::string_view key_prefix) {
  const int base = op.mark_key.empty() ? 1 : 3;
  auto arg = [base](int n) { return "a[" + std::to_string(base + n) + "]"; };
  const int k = static_cast<int>(op.require.size());
  const int last = std::max(op.owner_field, op.expiry_field);
  auto b = [](int n) { return "b" + std::to_string(n); };
  auto z = [](int n) { return "z" + std::to_string(n); };
  std::string s = "local a = ARGV\n";
  if (!op.mark_key.empty()) {
    s += "if not redis.call('SET', a[1], '1', 'NX', 'PX', a[2]) then return {0} end\n";
  }
  s += "local rec = redis.call('GET', " + arg(0) + ")\nif not rec then return {1} end\n";
  if (op.consume) s += "redis.call('DEL', " + arg(0) + ")\n";
  // Fields 0..k-1 with their separators, compared at once (fields never
  // hold '|': the records escape it).
  std::string prefix_length = "0", prefix = "";
  for (int i = 0; i < k; ++i) {
    prefix_length += " + #" + arg(6 + i) + " + 1";
    prefix += (i > 0 ? " .. " : "") + arg(6 + i) + " .. '|'";
  }
  s += "local n = " + prefix_length + "\n";
  s += "if string.sub(rec, 1, n) ~= " + prefix + " then return {2, rec} end\n";
  // Field m spans b_m .. z_m - 1; b_m is false when the record has no field m.
  s += "local " + b(k) + " = n + 1\n";
  for (int m = k; m <= last; ++m) {
    if (m > k) {
      s += "local " + b(m) + " = " + z(m - 1) + " and " + z(m - 1) + " <= #rec and " + z(m - 1) +
           " + 1\n";
    }
    s += "local " + z(m) + " = " + b(m) + " and (string.find(rec, '|', " + b(m) +
         ", true) or #rec + 1)\n";
  }
  auto text = [&](int m) {
    return b(m) + " and string.sub(rec, " + b(m) + ", " + z(m) + " - 1)";
  };
  s += "local exp = " + text(op.expiry_field) + "\nlocal owner = " + text(op.owner_field) + "\n";
  s += "if not exp or not string.match(exp, '^%-?%d+$') or tonumber(exp) <= tonumber(" + arg(1) +
       ")\n   or not owner or owner == '' then return {2, rec} end\n";
  if (!op.guard_prefix.empty()) {
    s += "if redis.call('EXISTS', ";
    AppendLuaString(s, std::string(key_prefix) + "v:" + op.guard_prefix);
    s += " .. owner) == 1 then return {3, rec} end\n";
  }
  // The run's first byte: inside the compared prefix, or found above.
  std::string start = b(run.first);
  if (run.first < k) {
    start = "1";
    for (int i = 0; i < run.first; ++i) start += " + #" + arg(6 + i) + " + 1";
  }
  s += "local v = " + arg(3) + " .. string.sub(rec, " + start + ", " + z(run.last) + " - 1) .. " +
       arg(5) + "\n";
  s += "redis.call('SET', " + arg(2) + ", v, 'PX', '" + std::to_string(op.put_ttl.count()) + "')\n";
  s += "local s = ";
  AppendLuaString(s, std::string(key_prefix) + "s:" + op.set_prefix);
  s += " .. owner\nredis.call('SADD', s, " + arg(4) + ")\n";
  s += "redis.call('PEXPIRE', s, '" + std::to_string(op.set_ttl.count()) + "')\nreturn {4, rec}\n";
  return s;
}

// PutAndAddToSet: KEYS value key, set key; ARGV value, ttl, member, set ttl.
constexpr std::string_view kPutAndAddScript =
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) redis.call('SADD', KEYS[2], ARGV[3]) "
    "redis.call('PEXPIRE', KEYS[2], ARGV[4]) return 1";
// GetAndTouch: KEYS value key, set key; ARGV ttl, field, text, member, set
// ttl. Returns {0} (missing), {1, record} (field differs) or {2, record}.
constexpr std::string_view kGetAndTouchScript = R"lua(
local rec = redis.call('GET', KEYS[1])
if not rec then return {0} end
local f = {}
for x in string.gmatch(rec .. '|', '([^|]*)|') do f[#f + 1] = x end
if f[tonumber(ARGV[2]) + 1] ~= ARGV[3] then return {1, rec} end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return {2, rec}
)lua";
constexpr size_t kMaxErrorMessage = 200;
// An outage fails every request, so its warning is paced rather than repeated.
constexpr int64_t kOutageWarningEveryMs = 10'000;

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

// Error replies may quote the command's arguments (e.g. "ERR unknown command
// 'X', with args beginning with: 'key'"), and keys are tickets: cut at the first quote.
std::string SafeText(std::string_view text) {
  text = text.substr(0, text.find_first_of("'\"\r\n"));
  while (!text.empty() && (text.back() == ' ' || text.back() == ',')) text.remove_suffix(1);
  if (text.size() > kMaxErrorMessage) text = text.substr(0, kMaxErrorMessage);
  return std::string(text);
}

std::string SafeReplyText(std::string_view text) { return "redis: " + SafeText(text); }

Error ReplyError(const redisReply& reply) {
  std::string_view text(reply.str, reply.len);
  std::string_view word = text.substr(0, text.find(' '));
  for (std::string_view transient : {"LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "TRYAGAIN",
                                     "CLUSTERDOWN", "NOREPLICAS"}) {
    if (word == transient) return Error::Unavailable(SafeReplyText(text));
  }
  return Error::Internal(SafeReplyText(text));
}

Error Unexpected() { return Error::Internal("redis: unexpected reply type"); }

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || FromHex(s[i + 1]) < 0 || FromHex(s[i + 2]) < 0) {
      return Error::InvalidArgument("redis url: bad %-escape");
    }
    out.push_back(static_cast<char>(FromHex(s[i + 1]) * 16 + FromHex(s[i + 2])));
    i += 2;
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// Logs that Redis cannot be reached: a warning when an outage starts, again at
// most every kOutageWarningEveryMs while it lasts, and one info line when a
// call succeeds after a warned outage. Names the address, never the password.
class RedisTicketStore::OutageLog {
 public:
  explicit OutageLog(const Options& options)
      : clock_(options.clock != nullptr ? *options.clock : SystemClock::Instance()),
        address_(Address(options)) {}

  // `why` is a transport error of the store ("redis: Connection refused").
  void Failed(const Error& why) {
    std::string_view reason = why.message;
    if (reason.starts_with("redis: ")) reason.remove_prefix(7);
    std::lock_guard lock(mu_);
    in_outage_.store(true, std::memory_order_relaxed);
    ++failed_calls_;
    ++unwarned_failures_;
    int64_t now = clock_.NowMillis();
    if (warned_ever_ && now - last_warning_ms_ < kOutageWarningEveryMs) return;
    if (unwarned_failures_ > 1) {
      spdlog::warn(
          "ticket store: Redis {} unreachable: {} ({} failed calls since the last warning)",
          address_, reason, unwarned_failures_);
    } else {
      spdlog::warn("ticket store: Redis {} unreachable: {}", address_, reason);
    }
    warned_ever_ = true;
    warned_this_outage_ = true;
    last_warning_ms_ = now;
    unwarned_failures_ = 0;
  }

  // Hot path: one relaxed load unless an outage just ended.
  void Succeeded() {
    if (!in_outage_.load(std::memory_order_relaxed)) return;
    std::lock_guard lock(mu_);
    if (!in_outage_.load(std::memory_order_relaxed)) return;
    in_outage_.store(false, std::memory_order_relaxed);
    // An outage too short to be warned about (paced out) is not announced as over either.
    if (warned_this_outage_) {
      spdlog::info("ticket store: Redis {} reachable again after {} failed calls", address_,
                   failed_calls_);
    }
    warned_this_outage_ = false;
    failed_calls_ = 0;
  }

 private:
  // "host:port", "[v6]:port" or "unix:/path"; the url's user and password are left out.
  static std::string Address(const Options& options) {
    std::string address;
    if (!options.unix_socket.empty()) return address.append("unix:").append(options.unix_socket);
    bool v6 = options.host.find(':') != std::string::npos;
    if (v6) address.append("[");
    address.append(options.host);
    if (v6) address.append("]");
    return address.append(":").append(std::to_string(options.port));
  }

  const Clock& clock_;
  const std::string address_;
  std::atomic<bool> in_outage_{false};
  std::mutex mu_;
  bool warned_ever_ = false;
  bool warned_this_outage_ = false;
  int64_t last_warning_ms_ = 0;
  uint64_t failed_calls_ = 0;       // in the current outage
  uint64_t unwarned_failures_ = 0;  // since the last warning
};

// At most pool_size connections, opened on demand. A connection that saw a
// transport error (reset, timeout, EOF) is dropped rather than reused, since
// hiredis cannot resynchronise it; the next call opens a fresh one.
class RedisTicketStore::Pool {
 public:
  Pool(const Options& options, OutageLog& outage_log)
      : options_(options), outage_log_(outage_log) {}

  class Lease {
   public:
    Lease(Pool* pool, ContextPtr context, bool reused = false)
        : pool_(pool), context_(std::move(context)), reused_(reused) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          context_(std::move(other.context_)),
          reused_(other.reused_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->GiveBack(std::move(context_));
    }

    // One command, one reply. Error replies come back as replies; only
    // transport failures become Errors.
    Result<ReplyPtr> Run(std::initializer_list<std::string_view> args) {
      return Run(std::vector<std::string_view>(args));
    }
    Result<ReplyPtr> Run(const std::vector<std::string_view>& args) {
      constexpr size_t kMaxArgs = 12;
      if (args.size() > kMaxArgs) return Error::Internal("redis: too many command arguments");
      const char* argv[kMaxArgs];
      size_t lengths[kMaxArgs];
      int argc = 0;
      for (std::string_view a : args) {
        argv[argc] = a.data();
        lengths[argc] = a.size();
        ++argc;
      }
      ReplyPtr reply(
          static_cast<redisReply*>(redisCommandArgv(context_.get(), argc, argv, lengths)));
      if (reply == nullptr) {
        return Error::Unavailable("redis: " +
                                  std::string(context_->err != 0 ? context_->errstr : "no reply"));
      }
      return reply;
    }

    // Hands the connection to the caller instead of the pool.
    ContextPtr Release() {
      pool_ = nullptr;
      return std::move(context_);
    }

    // True when the connection served earlier calls (it may have gone stale).
    bool reused() const { return reused_; }

    // The last failure was the server closing or resetting the connection,
    // as opposed to a timeout (retrying a hung server would only wait twice).
    bool ClosedByServer() const {
      if (context_->err == REDIS_ERR_EOF) return true;
      std::string_view why = context_->errstr;
      return context_->err == REDIS_ERR_IO && (why.find("reset") != std::string_view::npos ||
                                               why.find("Broken pipe") != std::string_view::npos);
    }

   private:
    Pool* pool_;  // nullptr: not from the pool (a connection being set up)
    ContextPtr context_;
    bool reused_;
  };

  // Runs one command on a pooled connection; error replies become Errors
  // unless `pass_error_replies`.
  // A connection that sat idle may have been closed by the server meanwhile
  // (restart, idle `timeout`); then the idle ones are dropped and the command
  // is retried once on a fresh connection. A retried GETDEL whose first reply
  // was lost answers "not found": the ticket is lost, never redeemed twice.
  Result<ReplyPtr> Call(std::initializer_list<std::string_view> args,
                        bool pass_error_replies = false) {
    auto reply = CallArgv(std::vector<std::string_view>(args));
    if (reply.ok() && !pass_error_replies && (*reply)->type == REDIS_REPLY_ERROR) {
      return ReplyError(**reply);
    }
    return reply;
  }

  // Call, any reply (error replies too) handed back.
  Result<ReplyPtr> CallArgv(const std::vector<std::string_view>& args) {
    for (int attempt = 0;; ++attempt) {
      auto lease = Take();
      if (!lease.ok()) return std::move(lease).error();
      auto reply = lease->Run(args);
      if (!reply.ok()) {
        if (!lease->reused() || !lease->ClosedByServer() || attempt > 0) {
          outage_log_.Failed(reply.error());
          return reply;
        }
        DropIdle();
        continue;
      }
      // Any reply, an error reply too, means Redis is reachable.
      outage_log_.Succeeded();
      return reply;
    }
  }

  // EVALSHA of `script` (SHA-1 `sha`) with `keys` keys among `args`, here
  // and waited for: for callers on a blocking thread, which would otherwise
  // hand the call to a pipeline's thread and sleep until it handed the reply
  // back. After a NOSCRIPT, once more as EVAL (which loads the script).
  Result<ReplyPtr> Eval(std::string_view script, std::string_view sha, std::string_view keys,
                        std::initializer_list<std::string_view> args) {
    auto run = [&](std::string_view verb, std::string_view body) {
      std::vector<std::string_view> argv = {verb, body, keys};
      argv.insert(argv.end(), args.begin(), args.end());
      return CallArgv(argv);
    };
    auto reply = run("EVALSHA", sha);
    if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR &&
        std::string_view((*reply)->str, (*reply)->len).starts_with("NOSCRIPT")) {
      reply = run("EVAL", script);
    }
    if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR) return ReplyError(**reply);
    return reply;
  }

  Result<Lease> Take() {
    std::unique_lock lock(mu_);
    auto deadline = std::chrono::steady_clock::now() + options_.command_timeout;
    if (!cv_.wait_until(lock, deadline,
                        [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
      return Error::Unavailable("redis: every pooled connection is busy");
    }
    if (!idle_.empty()) {
      ContextPtr c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c), /*reused=*/true);
    }
    ++open_;
    lock.unlock();
    auto connected = Connect();
    if (!connected.ok()) {
      outage_log_.Failed(connected.error());
      lock.lock();
      --open_;
      cv_.notify_one();
      return std::move(connected).error();
    }
    return Lease(this, std::move(*connected));
  }

 private:
  void DropIdle() {
    std::vector<ContextPtr> stale;
    {
      std::lock_guard lock(mu_);
      open_ -= idle_.size();
      stale.swap(idle_);
    }
    cv_.notify_all();
  }

  void GiveBack(ContextPtr c) {
    {
      std::lock_guard lock(mu_);
      if (c != nullptr && c->err == 0) {
        idle_.push_back(std::move(c));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  Result<ContextPtr> Connect() {
    timeval connect_tv = ToTimeval(options_.connect_timeout);
    ContextPtr c(options_.unix_socket.empty()
                     ? redisConnectWithTimeout(options_.host.c_str(), options_.port, connect_tv)
                     : redisConnectUnixWithTimeout(options_.unix_socket.c_str(), connect_tv));
    if (c == nullptr) return Error::Unavailable("redis: cannot allocate a connection");
    if (c->err != 0) return Error::Unavailable("redis: " + std::string(c->errstr));
    if (redisSetTimeout(c.get(), ToTimeval(options_.command_timeout)) != REDIS_OK) {
      return Error::Unavailable("redis: cannot set the command timeout");
    }
    if (options_.unix_socket.empty()) redisEnableKeepAlive(c.get());
    Lease setup(nullptr, std::move(c));
    auto check = [](Result<ReplyPtr>& r, const char* what) -> Status {
      if (!r.ok()) return r.error();
      if ((*r)->type == REDIS_REPLY_ERROR) {
        return Error::Unavailable(std::string("redis: ") + what +
                                  " refused: " + SafeText(std::string_view((*r)->str, (*r)->len)));
      }
      return Status::Ok();
    };
    if (!options_.password.empty()) {
      auto r = options_.username.empty()
                   ? setup.Run({"AUTH", options_.password})
                   : setup.Run({"AUTH", options_.username, options_.password});
      TB_RETURN_IF_ERROR(check(r, "AUTH"));
    }
    if (options_.database != 0) {
      std::string db = std::to_string(options_.database);
      auto r = setup.Run({"SELECT", db});
      TB_RETURN_IF_ERROR(check(r, "SELECT"));
    }
    return setup.Release();
  }

  const Options& options_;
  OutageLog& outage_log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ContextPtr> idle_;
  size_t open_ = 0;  // idle + leased
};

// The pipelined connections and the scripts sent on them: the store's own
// (its own thread, for callers on any thread) and one per attached I/O thread.
class RedisTicketStore::Scripts {
 public:
  Scripts(const Options& options, OutageLog& outage_log)
      : exchange_sha_(Sha1Hex(kExchangeScript)),
        put_and_add_sha_(Sha1Hex(kPutAndAddScript)),
        get_and_touch_sha_(Sha1Hex(kGetAndTouchScript)),
        settings_(SettingsOf(options)),
        observer_{[&outage_log](const Error& e) { outage_log.Failed(e); },
                  [&outage_log] { outage_log.Succeeded(); }},
        id_(next_id_.fetch_add(1, std::memory_order_relaxed)),
        pipeline_(settings_, observer_) {}

  ~Scripts() {
    std::lock_guard lock(lanes_mu_);
    if (!lanes_.empty()) {
      spdlog::error("redis: {} I/O thread connections never detached", lanes_.size());
    }
  }

  // The calling thread's own connection when it has one, else the shared one.
  // Only for Async calls: a caller that waits must use the shared one, or
  // it would wait for a reply that only its own loop can read.
  RedisPipeline& Current() {
    return t_lane_owner == id_ && t_lane != nullptr ? *t_lane : pipeline_;
  }
  RedisPipeline& Shared() { return pipeline_; }

  void Attach(boost::asio::io_context& loop) {
    auto lane = std::make_unique<RedisPipeline>(settings_, observer_, loop);
    t_lane_owner = id_;
    t_lane = lane.get();
    std::lock_guard lock(lanes_mu_);
    lanes_.push_back(std::move(lane));
  }

  void Drain() {
    if (t_lane_owner == id_ && t_lane != nullptr) t_lane->Drain();
  }

  void Detach() {
    if (t_lane_owner != id_ || t_lane == nullptr) return;
    std::unique_ptr<RedisPipeline> lane;
    {
      std::lock_guard lock(lanes_mu_);
      auto it = std::find_if(lanes_.begin(), lanes_.end(),
                             [](const auto& l) { return l.get() == t_lane; });
      if (it != lanes_.end()) {
        lane = std::move(*it);
        lanes_.erase(it);
      }
    }
    t_lane = nullptr;
    t_lane_owner = 0;
    lane.reset();  // here, on the loop's thread, while the loop still exists
  }

  // `evalsha` (EVALSHA of `script`, from EvalSha) on `pipe`; after a
  // NOSCRIPT (a restarted or flushed Redis) the same call once more as EVAL
  // on the same connection, which loads the script again. `done` gets the
  // reply or the error, on the pipeline's thread.
  void Eval(RedisPipeline& pipe, std::string_view script, std::string evalsha,
            RedisPipeline::Done done) {
    // Kept for the NOSCRIPT case, and shared: Call reads it after the callback was made.
    auto kept = std::make_shared<std::string>(std::move(evalsha));
    RedisPipeline::Done on_reply = [&pipe, script, kept,
                                    done = std::move(done)](Result<RedisReplyPtr> reply) mutable {
      if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR &&
          std::string_view((*reply)->str, (*reply)->len).starts_with("NOSCRIPT")) {
        pipe.Call(AsEval(*kept, script), std::move(done));
        return;
      }
      done(std::move(reply));
    };
    pipe.Call(*kept, std::move(on_reply));
  }

  // The start of an EVALSHA of `sha` with `keys` keys: `args` arguments
  // (keys first) must follow.
  static RedisPipeline::Command EvalSha(const std::string& sha, int keys, size_t args,
                                        size_t bytes) {
    RedisPipeline::Command c(3 + args, 64 + sha.size() + bytes + 16 * args);
    c.Arg("EVALSHA").Arg(sha).Int(keys);
    return c;
  }

  const std::string& exchange_sha() const { return exchange_sha_; }

  // A shape's script and its SHA-1 (ShapedExchangeScript); kept until the
  // store goes, so a NOSCRIPT reload can still read the text.
  struct ExchangeShape {
    std::string script;
    std::string sha;
    bool lean = false;  // LeanExchangeScript's ARGV
  };
  // The shape of `op`, made on first use; nullptr when `op` takes the
  // generic script (too many shapes, or parts too long to be baked in).
  const ExchangeShape* ShapeOf(const TicketExchange& op, const LeanRun& run,
                               std::string_view key_prefix) {
    if (!Shapeable(op)) return nullptr;
    thread_local std::string key;
    key.clear();
    AppendShapeKey(key, op, run);
    std::lock_guard lock(shapes_mu_);
    if (auto it = shapes_.find(key); it != shapes_.end()) return it->second.get();
    if (shapes_.size() >= kMaxExchangeShapes) return nullptr;
    auto shape = std::make_unique<ExchangeShape>();
    shape->lean = run.first >= 0;
    shape->script = shape->lean ? LeanExchangeScript(op, run, key_prefix)
                                : ShapedExchangeScript(op, key_prefix);
    shape->sha = Sha1Hex(shape->script);
    return shapes_.emplace(key, std::move(shape)).first->second.get();
  }
  const std::string& put_and_add_sha() const { return put_and_add_sha_; }
  const std::string& get_and_touch_sha() const { return get_and_touch_sha_; }
 private:
  static inline std::atomic<uint64_t> next_id_{1};
  // The calling thread's connection, and which store (id_) it belongs to.
  static inline thread_local uint64_t t_lane_owner = 0;
  static inline thread_local RedisPipeline* t_lane = nullptr;

  // EVALSHA → EVAL: "*N\r\n$7\r\nEVALSHA\r\n$40\r\n<sha>\r\n<rest>" becomes
  // "*N\r\n$4\r\nEVAL\r\n$<len>\r\n<script>\r\n<rest>".
  static std::string AsEval(std::string_view evalsha, std::string_view script) {
    const size_t count_end = evalsha.find("\r\n") + 2;
    const size_t rest = count_end + std::string_view("$7\r\nEVALSHA\r\n$40\r\n").size() + 40 + 2;
    std::string eval(evalsha.substr(0, count_end));
    eval.append("$4\r\nEVAL\r\n$").append(std::to_string(script.size())).append("\r\n");
    eval.append(script).append("\r\n").append(evalsha.substr(rest));
    return eval;
  }

  static std::string Sha1Hex(std::string_view text) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : digest) {
      hex.push_back(kHex[b >> 4]);
      hex.push_back(kHex[b & 15]);
    }
    return hex;
  }

  static RedisPipeline::Settings SettingsOf(const Options& o) {
    RedisPipeline::Settings s;
    s.host = o.host;
    s.port = o.port;
    s.unix_socket = o.unix_socket;
    s.username = o.username;
    s.password = o.password;
    s.database = o.database;
    s.connect_timeout = o.connect_timeout;
    s.command_timeout = o.command_timeout;
    return s;
  }

  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  std::mutex shapes_mu_;
  std::unordered_map<std::string, std::unique_ptr<ExchangeShape>, KeyHash, std::equal_to<>>
      shapes_;
  const std::string exchange_sha_;
  const std::string put_and_add_sha_;
  const std::string get_and_touch_sha_;
  const RedisPipeline::Settings settings_;
  const RedisPipeline::Observer observer_;
  const uint64_t id_;
  std::mutex lanes_mu_;
  std::vector<std::unique_ptr<RedisPipeline>> lanes_;
  RedisPipeline pipeline_;  // last: its thread calls into the members above
};

namespace {

Result<TicketExchangeResult> ExchangeResultOf(Result<RedisReplyPtr> reply) {
  using Outcome = TicketExchangeResult::Outcome;
  if (!reply.ok()) return std::move(reply).error();
  const redisReply& r = **reply;
  if (r.type == REDIS_REPLY_ERROR) return ReplyError(r);
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 1 || r.element[0]->type != REDIS_REPLY_INTEGER ||
      r.element[0]->integer < 0 || r.element[0]->integer > 4) {
    return Unexpected();
  }
  TicketExchangeResult result;
  result.outcome = static_cast<Outcome>(r.element[0]->integer);
  if (r.elements > 1) {
    if (r.element[1]->type != REDIS_REPLY_STRING) return Unexpected();
    result.record.assign(r.element[1]->str, r.element[1]->len);
  }
  return result;
}

}  // namespace

namespace {

// GetAndTouch's script reply: {0}, {1, record} or {2, record}.
Result<TicketStore::Touched> TouchedOf(const redisReply& r) {
  if (r.type == REDIS_REPLY_ERROR) return ReplyError(r);
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 1 || r.element[0]->type != REDIS_REPLY_INTEGER) {
    return Unexpected();
  }
  if (r.element[0]->integer == 0) return checks::NotFound();
  if (r.elements < 2 || r.element[1]->type != REDIS_REPLY_STRING) return Unexpected();
  return TicketStore::Touched{std::string(r.element[1]->str, r.element[1]->len),
                              r.element[0]->integer == 2};
}

Result<std::string> BulkOrNotFound(const redisReply& r) {
  if (r.type == REDIS_REPLY_NIL) return checks::NotFound();
  if (r.type != REDIS_REPLY_STRING) return Unexpected();
  return std::string(r.str, r.len);
}

}  // namespace

Result<RedisTicketStore::Options> RedisTicketStore::ParseUrl(std::string_view url) {
  Options options;
  if (url.starts_with("unix://")) {
    options.unix_socket = std::string(url.substr(7));
    if (options.unix_socket.empty()) return Error::InvalidArgument("redis url: empty socket path");
    return options;
  }
  if (!url.starts_with("redis://")) {
    return Error::InvalidArgument("redis url: expected redis://host:port/db or unix:///path");
  }
  std::string_view rest = url.substr(8);
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (!AllDigits(db)) return Error::InvalidArgument("redis url: database is not a number");
      options.database = std::stoi(std::string(db));
    }
    rest = rest.substr(0, slash);
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon));
    if (!user.ok()) return std::move(user).error();
    options.username = std::move(*user);
    if (colon != std::string_view::npos) {
      auto password = PercentDecode(userinfo.substr(colon + 1));
      if (!password.ok()) return std::move(password).error();
      options.password = std::move(*password);
    }
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos && !rest.ends_with(']')) {
    std::string_view port = rest.substr(colon + 1);
    if (!AllDigits(port)) return Error::InvalidArgument("redis url: port is not a number");
    options.port = std::stoi(std::string(port));
    rest = rest.substr(0, colon);
  }
  if (rest.starts_with('[') && rest.ends_with(']')) rest = rest.substr(1, rest.size() - 2);
  if (!rest.empty()) options.host = std::string(rest);
  return options;
}

RedisTicketStore::RedisTicketStore(Options options)
    : options_(std::move(options)),
      outage_log_(std::make_unique<OutageLog>(options_)),
      pool_(std::make_unique<Pool>(options_, *outage_log_)),
      scripts_(std::make_unique<Scripts>(options_, *outage_log_)) {}

RedisTicketStore::~RedisTicketStore() = default;

Result<std::unique_ptr<RedisTicketStore>> RedisTicketStore::Open(Options options) {
  if (options.pool_size == 0) return Error::InvalidArgument("redis: pool_size must be at least 1");
  if (options.unix_socket.empty() && (options.port <= 0 || options.port > 65535)) {
    return Error::InvalidArgument("redis: port out of range");
  }
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0) {
    return Error::InvalidArgument("redis: timeouts must be positive");
  }
  auto store = std::make_unique<RedisTicketStore>(std::move(options));
  auto pong = store->pool_->Call({"PING"});
  if (!pong.ok()) return std::move(pong).error();
  return store;
}

std::string RedisTicketStore::ValueKey(std::string_view key) const {
  std::string k;
  k.reserve(options_.key_prefix.size() + 2 + key.size());
  k.append(options_.key_prefix).append("v:").append(key);
  return k;
}

std::string RedisTicketStore::SetKey(std::string_view key) const {
  std::string k;
  k.reserve(options_.key_prefix.size() + 2 + key.size());
  k.append(options_.key_prefix).append("s:").append(key);
  return k;
}

Status RedisTicketStore::Put(std::string_view key, std::string_view value,
                             std::chrono::milliseconds ttl) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Value(value));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  auto reply = pool_->Call({"SET", ValueKey(key), value, "PX", std::to_string(ttl.count())});
  if (!reply.ok()) return std::move(reply).error();
  return Status::Ok();
}

Result<bool> RedisTicketStore::PutIfAbsent(std::string_view key, std::string_view value,
                                           std::chrono::milliseconds ttl) {
  return SetIf(key, value, ttl, "NX");
}

Result<bool> RedisTicketStore::PutIfPresent(std::string_view key, std::string_view value,
                                            std::chrono::milliseconds ttl) {
  return SetIf(key, value, ttl, "XX");
}

Result<bool> RedisTicketStore::SetIf(std::string_view key, std::string_view value,
                                     std::chrono::milliseconds ttl, std::string_view condition) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Value(value));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  auto reply =
      pool_->Call({"SET", ValueKey(key), value, condition, "PX", std::to_string(ttl.count())});
  if (!reply.ok()) return std::move(reply).error();
  if ((*reply)->type == REDIS_REPLY_NIL) return false;
  if ((*reply)->type == REDIS_REPLY_STATUS) return true;
  return Unexpected();
}

Result<std::string> RedisTicketStore::Get(std::string_view key) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  auto reply = pool_->Call({"GET", ValueKey(key)});
  if (!reply.ok()) return std::move(reply).error();
  return BulkOrNotFound(**reply);
}

Result<std::string> RedisTicketStore::Redeem(std::string_view key) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  std::string k = ValueKey(key);
  if (has_getdel_.load(std::memory_order_relaxed)) {
    auto reply = pool_->Call({"GETDEL", k}, /*pass_error_replies=*/true);
    if (!reply.ok()) return std::move(reply).error();
    const redisReply& r = **reply;
    if (r.type != REDIS_REPLY_ERROR) return BulkOrNotFound(r);
    if (!std::string_view(r.str, r.len).starts_with("ERR unknown command")) return ReplyError(r);
    has_getdel_.store(false, std::memory_order_relaxed);
  }
  auto reply = pool_->Call({"EVAL", kGetDelScript, "1", k});
  if (!reply.ok()) return std::move(reply).error();
  return BulkOrNotFound(**reply);
}

Status RedisTicketStore::Erase(std::string_view key) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  auto reply = pool_->Call({"DEL", ValueKey(key)});
  if (!reply.ok()) return std::move(reply).error();
  return Status::Ok();
}

Status RedisTicketStore::Touch(std::string_view key, std::chrono::milliseconds ttl) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  auto reply = pool_->Call({"PEXPIRE", ValueKey(key), std::to_string(ttl.count())});
  if (!reply.ok()) return std::move(reply).error();
  if ((*reply)->type != REDIS_REPLY_INTEGER) return Unexpected();
  if ((*reply)->integer == 0) return checks::NotFound();
  return Status::Ok();
}

Status RedisTicketStore::AddToSet(std::string_view set_key, std::string_view member,
                                  std::chrono::milliseconds ttl) {
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  TB_RETURN_IF_ERROR(checks::Value(member));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  auto reply = pool_->Call(
      {"EVAL", kAddToSetScript, "1", SetKey(set_key), member, std::to_string(ttl.count())});
  if (!reply.ok()) return std::move(reply).error();
  return Status::Ok();
}

Result<std::vector<std::string>> RedisTicketStore::Members(std::string_view set_key) {
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  auto reply = pool_->Call({"SMEMBERS", SetKey(set_key)});
  if (!reply.ok()) return std::move(reply).error();
  const redisReply& r = **reply;
  if (r.type != REDIS_REPLY_ARRAY) return Unexpected();
  std::vector<std::string> members;
  members.reserve(r.elements);
  for (size_t i = 0; i < r.elements; ++i) {
    const redisReply* e = r.element[i];
    if (e->type != REDIS_REPLY_STRING) return Unexpected();
    members.emplace_back(e->str, e->len);
  }
  return members;
}

Status RedisTicketStore::EraseSet(std::string_view set_key) {
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  auto reply = pool_->Call({"DEL", SetKey(set_key)});
  if (!reply.ok()) return std::move(reply).error();
  return Status::Ok();
}

void RedisTicketStore::ExchangeAsync(TicketExchange op, ExchangeDone done) {
  ExchangeOn(scripts_->Current(), std::move(op), std::move(done));
}

void RedisTicketStore::ExchangeOn(RedisPipeline& pipe, TicketExchange op, ExchangeDone done) {
  Status valid = checks::Exchange(op);
  if (!valid.ok()) return done(std::move(valid).error());
  const std::string& prefix = options_.key_prefix;
  // The template is read once: for the shape's key and, lean, for its head and tail.
  const LeanRun run = LeanRunOf(op);
  if (const Scripts::ExchangeShape* shape = scripts_->ShapeOf(op, run, prefix)) {
    // The shape's ARGV (ShapedExchangeScript), written straight into the command.
    size_t bytes = 2 * prefix.size() + op.mark_key.size() + op.redeem_key.size() +
                   op.put_key.size() + op.put_template.size() + op.set_member.size() + 6 * 8;
    for (const auto& r : op.require) bytes += r.second.size() + 4;
    const size_t argc = (op.mark_key.empty() ? 5 : 7) + (shape->lean ? 1 : 0) + op.require.size();
    RedisPipeline::Command c = Scripts::EvalSha(shape->sha, 0, argc, bytes);
    if (!op.mark_key.empty()) c.Arg({prefix, "v:", op.mark_key}).Int(op.mark_ttl.count());
    c.Arg({prefix, "v:", op.redeem_key}).Int(op.now_ms);
    c.Arg({prefix, "v:", op.put_key});
    if (shape->lean) {
      // The shape fixed where the run is; this call's template has it there.
      const std::string_view t = op.put_template;
      c.Arg(t.substr(0, run.head)).Arg(op.set_member).Arg(t.substr(run.tail));
    } else {
      c.Arg(op.put_template).Arg(op.set_member);
    }
    for (const auto& r : op.require) c.Arg(r.second);
    scripts_->Eval(pipe, shape->script, c.Take(),
                   [done = std::move(done)](Result<RedisReplyPtr> reply) {
                     done(ExchangeResultOf(std::move(reply)));
                   });
    return;
  }
  // The generic script's ARGV (kExchangeScript), written straight into the command.
  size_t bytes = 3 * prefix.size() + op.mark_key.size() + op.redeem_key.size() +
                 op.guard_prefix.size() + op.put_key.size() + op.put_template.size() +
                 op.set_prefix.size() + op.set_member.size() + 12 * 8;
  for (const auto& r : op.require) bytes += r.second.size() + 4;
  RedisPipeline::Command c =
      Scripts::EvalSha(scripts_->exchange_sha(), 0, 14 + 2 * op.require.size(), bytes);
  if (op.mark_key.empty()) {
    c.Arg("");
  } else {
    c.Arg({prefix, "v:", op.mark_key});
  }
  c.Int(op.mark_ttl.count()).Arg({prefix, "v:", op.redeem_key}).Int(op.now_ms);
  c.Int(op.expiry_field).Int(op.owner_field);
  if (op.guard_prefix.empty()) {
    c.Arg("");
  } else {
    c.Arg({prefix, "v:", op.guard_prefix});
  }
  c.Arg({prefix, "v:", op.put_key}).Arg(op.put_template).Int(op.put_ttl.count());
  c.Arg({prefix, "s:", op.set_prefix}).Arg(op.set_member).Int(op.set_ttl.count());
  c.Arg(op.consume ? "1" : "0");
  for (const auto& [field, text] : op.require) c.Int(field).Arg(text);
  scripts_->Eval(pipe, kExchangeScript, c.Take(), [done = std::move(done)](Result<RedisReplyPtr> reply) {
    done(ExchangeResultOf(std::move(reply)));
  });
}

Status RedisTicketStore::PutAndAddToSet(std::string_view key, std::string_view value,
                                        std::chrono::milliseconds ttl, std::string_view set_key,
                                        std::string_view member,
                                        std::chrono::milliseconds set_ttl) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Value(value));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  TB_RETURN_IF_ERROR(checks::Value(member));
  TB_RETURN_IF_ERROR(checks::Ttl(set_ttl));
  const std::string ttl_text = std::to_string(ttl.count());
  const std::string set_ttl_text = std::to_string(set_ttl.count());
  auto reply = pool_->Eval(kPutAndAddScript, scripts_->put_and_add_sha(), "2",
                           {ValueKey(key), SetKey(set_key), value, ttl_text, member, set_ttl_text});
  if (!reply.ok()) return std::move(reply).error();
  return Status::Ok();
}

Result<TicketStore::Touched> RedisTicketStore::GetAndTouch(
    std::string_view key, std::chrono::milliseconds ttl, int field, std::string_view text,
    std::string_view set_key, std::string_view member, std::chrono::milliseconds set_ttl) {
  TB_RETURN_IF_ERROR(checks::Key(key));
  TB_RETURN_IF_ERROR(checks::Ttl(ttl));
  TB_RETURN_IF_ERROR(checks::Key(set_key));
  TB_RETURN_IF_ERROR(checks::Value(member));
  TB_RETURN_IF_ERROR(checks::Ttl(set_ttl));
  if (field < 0 || field > 9) return Error::InvalidArgument("ticket store: field out of range");
  const std::string ttl_text = std::to_string(ttl.count());
  const std::string field_text = std::to_string(field);
  const std::string set_ttl_text = std::to_string(set_ttl.count());
  auto reply =
      pool_->Eval(kGetAndTouchScript, scripts_->get_and_touch_sha(), "2",
                  {ValueKey(key), SetKey(set_key), ttl_text, field_text, text, member, set_ttl_text});
  if (!reply.ok()) return std::move(reply).error();
  return TouchedOf(**reply);
}

void RedisTicketStore::PutAndAddToSetAsync(std::string_view key, std::string_view value,
                                           std::chrono::milliseconds ttl, std::string_view set_key,
                                           std::string_view member,
                                           std::chrono::milliseconds set_ttl, StatusDone done) {
  for (const Status& valid : {checks::Key(key), checks::Value(value), checks::Ttl(ttl),
                              checks::Key(set_key), checks::Value(member), checks::Ttl(set_ttl)}) {
    if (!valid.ok()) return done(valid);
  }
  const std::string& prefix = options_.key_prefix;
  RedisPipeline::Command c = Scripts::EvalSha(
      scripts_->put_and_add_sha(), 2, 6,
      2 * prefix.size() + key.size() + set_key.size() + value.size() + member.size() + 40);
  c.Arg({prefix, "v:", key}).Arg({prefix, "s:", set_key}).Arg(value).Int(ttl.count());
  c.Arg(member).Int(set_ttl.count());
  scripts_->Eval(scripts_->Current(), kPutAndAddScript, c.Take(),
                 [done = std::move(done)](Result<RedisReplyPtr> reply) {
                   if (!reply.ok()) return done(std::move(reply).error());
                   if ((*reply)->type == REDIS_REPLY_ERROR) return done(ReplyError(**reply));
                   done(Status::Ok());
                 });
}

void RedisTicketStore::GetAndTouchAsync(std::string_view key, std::chrono::milliseconds ttl,
                                        int field, std::string_view text,
                                        std::string_view set_key, std::string_view member,
                                        std::chrono::milliseconds set_ttl, TouchedDone done) {
  for (const Status& valid : {checks::Key(key), checks::Ttl(ttl), checks::Key(set_key),
                              checks::Value(member), checks::Ttl(set_ttl)}) {
    if (!valid.ok()) return done(valid.error());
  }
  if (field < 0 || field > 9) return done(Error::InvalidArgument("ticket store: field out of range"));
  const std::string& prefix = options_.key_prefix;
  RedisPipeline::Command c = Scripts::EvalSha(
      scripts_->get_and_touch_sha(), 2, 7,
      2 * prefix.size() + key.size() + set_key.size() + text.size() + member.size() + 40);
  c.Arg({prefix, "v:", key}).Arg({prefix, "s:", set_key}).Int(ttl.count()).Int(field);
  c.Arg(text).Arg(member).Int(set_ttl.count());
  scripts_->Eval(scripts_->Current(), kGetAndTouchScript, c.Take(),
                 [done = std::move(done)](Result<RedisReplyPtr> reply) {
                   if (!reply.ok()) return done(std::move(reply).error());
                   done(TouchedOf(**reply));
                 });
}

void RedisTicketStore::RedeemAsync(std::string_view key, RedeemDone done) {
  Status valid = checks::Key(key);
  if (!valid.ok()) return done(std::move(valid).error());
  std::string k = ValueKey(key);
  RedisPipeline& pipe = scripts_->Current();
  auto by_script = [&pipe](const std::string& k, RedeemDone done) {
    pipe.Call(RedisPipeline::Format({"EVAL", kGetDelScript, "1", k}),
                              [done = std::move(done)](Result<RedisReplyPtr> reply) {
                                if (!reply.ok()) return done(std::move(reply).error());
                                if ((*reply)->type == REDIS_REPLY_ERROR) {
                                  return done(ReplyError(**reply));
                                }
                                done(BulkOrNotFound(**reply));
                              });
  };
  if (!has_getdel_.load(std::memory_order_relaxed)) return by_script(k, std::move(done));
  std::string command = RedisPipeline::Format({"GETDEL", k});
  pipe.Call(
      std::move(command), [this, k = std::move(k), by_script,
                           done = std::move(done)](Result<RedisReplyPtr> reply) mutable {
        if (!reply.ok()) return done(std::move(reply).error());
        const redisReply& r = **reply;
        if (r.type != REDIS_REPLY_ERROR) return done(BulkOrNotFound(r));
        if (!std::string_view(r.str, r.len).starts_with("ERR unknown command")) {
          return done(ReplyError(r));
        }
        has_getdel_.store(false, std::memory_order_relaxed);
        by_script(k, std::move(done));
      });
}

Result<TicketExchangeResult> RedisTicketStore::Exchange(const TicketExchange& op) {
  std::promise<Result<TicketExchangeResult>> promise;
  auto future = promise.get_future();
  // On the shared connection: this thread's own could only be read by this
  // thread, which is about to wait.
  ExchangeOn(scripts_->Shared(), op,
             [&promise](Result<TicketExchangeResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void RedisTicketStore::AttachLoop(boost::asio::io_context& loop) { scripts_->Attach(loop); }

void RedisTicketStore::DrainLoop() { scripts_->Drain(); }

void RedisTicketStore::DetachLoop() { scripts_->Detach(); }

size_t RedisTicketStore::ApproximateSize() {
  auto reply = pool_->Call({"DBSIZE"});
  if (!reply.ok() || (*reply)->type != REDIS_REPLY_INTEGER || (*reply)->integer < 0) return 0;
  return static_cast<size_t>((*reply)->integer);
}

}  // namespace tongban
