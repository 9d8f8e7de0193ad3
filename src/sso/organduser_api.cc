#include "sso/organduser_api.h"

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/parse.h"
#include "codec/value.h"
#include "directory/codes.h"
#include "directory/validators.h"
#include "directory/wire.h"
#include "sso/audit.h"
#include "sso/citizen.h"
#include "sso/logout.h"
#include "sso/reply.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"

namespace tongban::sso {
namespace {

namespace dcode = directory::code;

// Codes this interface adds in free ranges (docs/api/organduser.md lists them).
namespace ocode {
inline constexpr int kOrgReadOther = 1299;         // getOrgInfo / getChildOrgs
inline constexpr int kBindingOther = 2999;         // getSsoUserByMap / getMapUserBySso
inline constexpr int kIdcardNumberEmpty = 2701;    // valiidcard: no idnum
inline constexpr int kIdcardNumberInvalid = 2702;  // format, birth date, region or check digit
inline constexpr int kIdcardNameInvalid = 2703;    // username empty, too long or not text
inline constexpr int kIdcardSexMismatch = 2704;    // sex not 1/2, or not the number's
inline constexpr int kIdcardNationInvalid = 2705;  // not a GB 3304 nationality code
}  // namespace ocode

constexpr int64_t kDefaultUsersPageSize = 100;
// getChildOrgs answers every child in one page unless asked otherwise.
constexpr int64_t kDefaultChildOrgsPageSize = directory::Page::kMaxPageSize;

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// `args` as an app sends it: a JSON object, or <SSO> XML. A UTF-8 byte-order
// mark, which some Windows clients prepend, is ignored.
Result<codec::Value> ParseArgsValue(std::string_view text) {
  text = TrimSpace(text);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text = TrimSpace(text.substr(3));
  if (text.empty()) return Error::InvalidArgument("args is empty");
  if (text.front() == '<') return codec::ParseSsoXml(text);
  return codec::ParseJson(text);
}

Result<directory::Fields> ParseArgs(std::string_view text) {
  auto value = ParseArgsValue(text);
  if (!value.ok()) return Error::InvalidArgument("args is neither a JSON object nor <SSO> XML");
  auto fields = directory::FieldsFromValue(*value);
  if (!fields.ok()) return Error::InvalidArgument(fields.error().message);
  return fields;
}

// A page parameter: "" = the default; otherwise a positive decimal number.
bool ParsePageNumber(std::string_view text, int64_t fallback, int64_t* out) {
  text = TrimSpace(text);
  if (text.empty()) {
    *out = fallback;
    return true;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1) return false;
  *out = v;
  return true;
}

Result<directory::Page> PageFrom(const ApiCall& call, int64_t default_size, int bad_page_code) {
  directory::Page page;
  if (!ParsePageNumber(call.Param("pageno"), 1, &page.number) ||
      !ParsePageNumber(call.Param("pagesize"), default_size, &page.size) ||
      page.size > directory::Page::kMaxPageSize) {
    return Error{bad_page_code, "pageno must be >= 1 and pagesize 1.." +
                                    std::to_string(directory::Page::kMaxPageSize)};
  }
  return page;
}

// The reply fields of one record follow result and errmsg (moved in, with
// two comparisons a field instead of Set's scan of everything so far).
void Merge(codec::Value& reply, codec::Value fields) { reply.Merge(std::move(fields)); }

// A memory-only read that would need the database: the call goes to the pool.
bool NotCached(const Error& error) { return error.code == directory::kNotCached; }

directory::Caller CallerOf(const ApiCall& call) {
  return directory::Caller::ForApp(call.app.servicecode);
}

// A GB 3304-91 nationality code: 01..56 (the 56 nationalities), 97 (other),
// 98 (foreign-born Chinese citizens); a leading zero may be left out.
bool IsNationCode(std::string_view nation) {
  if (nation.empty() || nation.size() > 2) return false;
  int v = 0;
  for (char c : nation) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return (v >= 1 && v <= 56) || v == 97 || v == 98;
}

// A person's name as the ID registry holds it: 1..50 characters of text.
bool IsPersonName(std::string_view name) {
  if (name.empty() || name.size() > 150) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F || c == '<' || c == '>' || c == '&' || c == '"') return false;
  }
  return true;
}

}  // namespace

struct OrgAndUserApi::Impl {
  explicit Impl(SsoContext& c) : context(c), api(Options(c), c.directory, c.tickets, c.clock) {
    AddMethods();
  }

  static SignedApiOptions Options(const SsoContext& c) {
    SignedApiOptions o;
    o.soap_service = "OrgAndUserService";
    if (!c.settings.public_url.empty()) {
      o.soap_endpoint_url =
          c.settings.public_url + c.settings.context_path + "/service/OrgAndUserService";
    }
    o.sign_window = c.settings.sign_window;
    o.replay_protection = c.settings.replay_protection;
    o.time_zone = c.settings.sign_time_zone;
    return o;
  }

  void Add(std::string name, std::vector<std::string> params,
           codec::Value (Impl::*handler)(const ApiCall&)) {
    // Every method reads or writes the directory's database.
    api.AddMethod(
        std::move(name), std::move(params),
        [this, handler](const ApiCall& call) { return (this->*handler)(call); },
        MethodCost::kBlocking);
  }

  // Reads whose data is usually cached (a user, an org) or needs none
  // (valiidcard): answered on the I/O thread when the directory has it in
  // memory, on the blocking pool otherwise (MethodCost::kMemoryFirst).
  void AddMemoryFirst(std::string name, std::vector<std::string> params,
                      std::optional<MethodReply> (Impl::*handler)(const ApiCall&)) {
    api.AddMemoryFirstMethod(
        std::move(name), std::move(params),
        [this, handler](const ApiCall& call) { return (this->*handler)(call); });
  }

  // WSDL parameter order: the spec's where known (getUserInfoById(userid),
  // valiidcard(username, idnum, sex, nation), getSsoUserByMap(args)), then
  // the alternatives tongban also accepts.
  void AddMethods() {
    Add("synchronizeUser", {"args"}, &Impl::SynchronizeUser);
    Add("deleteUser", {"userid", "loginname", "orgcoding", "args"}, &Impl::DeleteUser);
    AddMemoryFirst("getUserInfoById", {"userid"}, &Impl::GetUserInfoById);
    AddMemoryFirst("getUserByLoginname", {"loginname", "orgcoding"}, &Impl::GetUserByLoginname);
    Add("getUsersByOrg", {"orgcoding", "pageno", "pagesize"}, &Impl::GetUsersByOrg);
    Add("synchronizeOrg", {"args"}, &Impl::SynchronizeOrg);
    Add("deleteOrg", {"orgcoding", "args"}, &Impl::DeleteOrg);
    AddMemoryFirst("getOrgInfo", {"orgcoding"}, &Impl::GetOrgInfo);
    Add("getChildOrgs", {"orgcoding", "pageno", "pagesize"}, &Impl::GetChildOrgs);
    Add("getSsoUserByMap", {"args", "account", "loginname"}, &Impl::GetSsoUserByMap);
    Add("getMapUserBySso", {"userid"}, &Impl::GetMapUserBySso);
    Add("getUserRole", {"userid"}, &Impl::GetUserRole);
    AddMemoryFirst("valiidcard", {"username", "idnum", "sex", "nation"}, &Impl::ValidIdCard);
    // The rest (synchronizeUser, deleteUser, synchronizeOrg, deleteOrg) are
    // writes: POST only, replays refused.
    for (const char* read :
         {"getUserInfoById", "getUserByLoginname", "getUsersByOrg", "getOrgInfo", "getChildOrgs",
          "getSsoUserByMap", "getMapUserBySso", "getUserRole", "valiidcard"}) {
      api.SetEffect(read, MethodEffect::kRead);
    }
  }

  // ---- users ----

  codec::Value SynchronizeUser(const ApiCall& call) {
    auto args = ParseArgs(call.Param("args"));
    if (!args.ok()) return Reply(dcode::kUserArgsIllegal, args.error().message);
    auto saved = context.directory.SaveUser(CallerOf(call), *args);
    if (!saved.ok()) return ReplyFor(saved.error(), dcode::kUserOther);
    // A disabled user is logged out everywhere; so is one whose password the
    // app just changed, as an administrator's reset does: whoever knew the old
    // one keeps no session. An app that re-sends the password the user has
    // (many sync every field every time) ends nothing.
    if (!saved->user.active() || saved->password_changed) {
      auto ended =
          logout.EndUser(saved->user.userid, !saved->user.active() ? "disabled" : "password_reset",
                         call.app.servicecode);
      if (!ended.ok()) return ReplyFor(ended.error(), dcode::kUserOther);
    }
    return Success()
        .Set("userid", saved->user.userid)
        .Set("loginname", saved->user.loginname)
        .Set("operation", saved->added ? "add" : "modify");
  }



  // By top-level userid, or loginname (+ orgcoding); an `args` object with
  // the same names is accepted from clients that send everything there.
  codec::Value DeleteUser(const ApiCall& call) {
    directory::UserKey key{std::string(call.Param("userid")), std::string(call.Param("loginname")),
                           std::string(call.Param("orgcoding"))};
    if (key.userid.empty() && key.loginname.empty() && !call.Param("args").empty()) {
      auto args = ParseArgs(call.Param("args"));
      if (!args.ok()) return Reply(dcode::kUserDeleteArgsIllegal, args.error().message);
      for (auto [name, field] :
           {std::pair{"userid", &key.userid}, std::pair{"loginname", &key.loginname},
            std::pair{"orgcoding", &key.orgcoding}}) {
        if (auto it = args->find(name); it != args->end()) *field = it->second;
      }
    }
    auto deleted = context.directory.DeleteUser(CallerOf(call), key);
    if (!deleted.ok()) return ReplyFor(deleted.error(), dcode::kUserDeleteOther);
    auto ended = logout.EndUser(deleted->userid, "deleted", call.app.servicecode);
    if (!ended.ok()) return ReplyFor(ended.error(), dcode::kUserDeleteOther);
    return Success().Set("userid", deleted->userid).Set("loginname", deleted->loginname);
  }

  std::optional<MethodReply> GetUserInfoById(const ApiCall& call) {
    auto user = context.directory.GetUserById(CallerOf(call), call.Param("userid"), call.lookup);
    if (!user.ok() && NotCached(user.error())) return std::nullopt;
    if (!user.ok()) return ReplyFor(user.error(), dcode::kUserReadOther);
    return UserReply(*user, call.format);
  }

  std::optional<MethodReply> GetUserByLoginname(const ApiCall& call) {
    auto user = context.directory.GetUserByLoginname(CallerOf(call), call.Param("loginname"),
                                                     call.Param("orgcoding"), call.lookup);
    if (!user.ok() && NotCached(user.error())) return std::nullopt;
    if (!user.ok()) return ReplyFor(user.error(), dcode::kUserReadOther);
    return UserReply(*user, call.format);
  }

  // getUserInfoById's and getUserByLoginname's success: result, errmsg and
  // the user's fields — nothing of the caller (its org scope was checked by
  // the directory before the snapshot came back, and every app sees every
  // field), so the rendered text is a function of the snapshot and the
  // format alone and is kept with the snapshot (directory::RenderMemo) from
  // its second answer on. Should a reply ever depend on the asking app (a
  // per-app field filter), it must not be memoised here without the app in
  // the key.
  static MethodReply UserReply(const std::shared_ptr<const directory::User>& user,
                               codec::Format format) {
    const size_t slot = format == codec::Format::kJson ? 0 : 1;
    const directory::RenderMemo& memo = user->replies;
    if (const std::string* text = memo.Get(slot)) {
      return MethodReply::Rendered(std::shared_ptr<const std::string>(user, text));
    }
    codec::Value reply = Success();
    Merge(reply, directory::UserToValue(*user));
    if (!memo.AskedBefore()) return reply;  // a snapshot read once keeps nothing
    const std::string* text = memo.Put(slot, codec::Render(reply, format));
    return MethodReply::Rendered(std::shared_ptr<const std::string>(user, text));
  }

  codec::Value GetUsersByOrg(const ApiCall& call) {
    auto page = PageFrom(call, kDefaultUsersPageSize, dcode::kUserReadBadPage);
    if (!page.ok()) return ReplyFor(page.error(), dcode::kUserReadOther);
    auto users = context.directory.UsersByOrg(CallerOf(call), call.Param("orgcoding"), *page);
    if (!users.ok()) return ReplyFor(users.error(), dcode::kUserReadOther);
    codec::Value reply = Success();
    reply.Set("total", users->total)
        .Set("pageno", std::to_string(page->number))
        .Set("pagesize", std::to_string(page->size));
    codec::Value& list = reply.Add("user", codec::Value::Array(users->items.size()));
    for (const directory::User& u : users->items) list.Push(directory::UserToValue(u));
    return reply;
  }

  // ---- orgs ----

  codec::Value SynchronizeOrg(const ApiCall& call) {
    auto args = ParseArgs(call.Param("args"));
    if (!args.ok()) return Reply(dcode::kOrgArgsIllegal, args.error().message);
    auto saved = context.directory.SaveOrg(CallerOf(call), *args);
    if (!saved.ok()) return ReplyFor(saved.error(), dcode::kOrgOther);
    return Success()
        .Set("orgcoding", saved->org.orgcoding)
        .Set("operation", saved->added ? "add" : "modify");
  }

  codec::Value DeleteOrg(const ApiCall& call) {
    std::string orgcoding(call.Param("orgcoding"));
    if (orgcoding.empty() && !call.Param("args").empty()) {
      auto args = ParseArgs(call.Param("args"));
      if (!args.ok()) return Reply(dcode::kOrgNotFound, args.error().message);
      if (auto it = args->find("orgcoding"); it != args->end()) orgcoding = it->second;
    }
    auto deleted = context.directory.DeleteOrg(CallerOf(call), orgcoding);
    if (!deleted.ok()) return ReplyFor(deleted.error(), dcode::kOrgDeleteOther);
    return Success().Set("orgcoding", deleted->orgcoding);
  }

  std::optional<MethodReply> GetOrgInfo(const ApiCall& call) {
    auto org = context.directory.GetOrg(CallerOf(call), call.Param("orgcoding"), call.lookup);
    if (!org.ok() && NotCached(org.error())) return std::nullopt;
    if (!org.ok()) return ReplyFor(org.error(), ocode::kOrgReadOther);
    codec::Value reply = Success();
    Merge(reply, directory::OrgToValue(*org));
    return reply;
  }

  codec::Value GetChildOrgs(const ApiCall& call) {
    auto page = PageFrom(call, kDefaultChildOrgsPageSize, dcode::kOrgReadBadPage);
    if (!page.ok()) return ReplyFor(page.error(), ocode::kOrgReadOther);
    auto orgs = context.directory.ChildOrgs(CallerOf(call), call.Param("orgcoding"), *page);
    if (!orgs.ok()) return ReplyFor(orgs.error(), ocode::kOrgReadOther);
    codec::Value reply = Success();
    reply.Set("total", orgs->total)
        .Set("pageno", std::to_string(page->number))
        .Set("pagesize", std::to_string(page->size));
    codec::Value& list = reply.Add("org", codec::Value::Array(orgs->items.size()));
    for (const directory::Org& o : orgs->items) list.Push(directory::OrgToValue(o));
    return reply;
  }

  // ---- account bindings ----

  // The app account comes as `args` (the JAXB client's name: the account
  // itself, or an object with `account` or `loginname`), or as `account` or
  // `loginname`.
  static Result<std::string> MappedAccount(const ApiCall& call) {
    std::string_view args = TrimSpace(call.Param("args"));
    if (!args.empty() && (args.front() == '{' || args.front() == '<')) {
      auto fields = ParseArgs(args);
      if (!fields.ok()) return Error{dcode::kBindingBadAccount, fields.error().message};
      for (const char* name : {"account", "loginname"}) {
        if (auto it = fields->find(name); it != fields->end() && !it->second.empty()) {
          return it->second;
        }
      }
      return Error{dcode::kBindingBadAccount, "args names no account"};
    }
    if (!args.empty()) return std::string(args);
    if (!call.Param("account").empty()) return std::string(call.Param("account"));
    if (!call.Param("loginname").empty()) return std::string(call.Param("loginname"));
    return Error{dcode::kBindingBadAccount, "give args, account or loginname"};
  }

  codec::Value GetSsoUserByMap(const ApiCall& call) {
    auto account = MappedAccount(call);
    if (!account.ok()) return ReplyFor(account.error(), ocode::kBindingOther);
    auto userid = context.directory.SsoUserByMap(call.app.servicecode, *account);
    if (!userid.ok()) return ReplyFor(userid.error(), ocode::kBindingOther);
    codec::Value reply = Success().Set("userid", *userid).Set("account", *account);
    // The bound user's names when the app may see the user; the binding
    // itself is the app's own data either way.
    if (auto user = context.directory.GetUserById(CallerOf(call), *userid); user.ok()) {
      reply.Set("loginname", (*user)->loginname).Set("username", (*user)->username);
    }
    return reply;
  }

  codec::Value GetMapUserBySso(const ApiCall& call) {
    std::string_view userid = call.Param("userid");
    auto account = context.directory.MapUserBySso(call.app.servicecode, userid);
    if (!account.ok()) return ReplyFor(account.error(), ocode::kBindingOther);
    return Success().Set("userid", userid).Set("account", *account);
  }

  // ---- roles ----

  // The user's roles in the calling app. The user must be visible to the app
  // (28xx as getUserInfoById).
  codec::Value GetUserRole(const ApiCall& call) {
    auto user = context.directory.GetUserById(CallerOf(call), call.Param("userid"));
    if (!user.ok()) return ReplyFor(user.error(), dcode::kUserReadOther);
    auto roles = context.directory.UserRoles((*user)->userid, call.app.servicecode);
    if (!roles.ok()) return ReplyFor(roles.error(), dcode::kUserReadOther);
    codec::Value reply = Success();
    reply.Set("userid", (*user)->userid).Set("total", static_cast<int64_t>(roles->size()));
    codec::Value& list = reply.Add("role", codec::Value::Array(roles->size()));
    for (const directory::Role& r : *roles) list.Push(directory::RoleToValue(r));
    return reply;
  }

  // ---- valiidcard ----

  // The checks tongban can make without the population registry: a
  // well-formed resident ID number (GB 11643 check digit, real birth date,
  // province code), a plausible name, the sex the number encodes, and a
  // GB 3304 nationality code. 15-digit numbers are upgraded first.
  std::optional<MethodReply> ValidIdCard(const ApiCall& call) {
    std::string idnum(TrimSpace(call.Param("idnum")));
    if (idnum.empty()) return Reply(ocode::kIdcardNumberEmpty, "idnum 不能为空");
    if (idnum.size() == 15) {
      auto upgraded = directory::UpgradeResidentId15To18(idnum);
      if (!upgraded.ok()) {
        return Reply(ocode::kIdcardNumberInvalid, "身份证号码无效: " + upgraded.error().message);
      }
      idnum = std::move(*upgraded);
    }
    auto info = directory::ParseResidentId(idnum, directory::TodayInChina(context.clock));
    if (!info.ok()) {
      return Reply(ocode::kIdcardNumberInvalid, "身份证号码无效: " + info.error().message);
    }
    if (!IsPersonName(TrimSpace(call.Param("username")))) {
      return Reply(ocode::kIdcardNameInvalid, "username 为空或含非法字符");
    }
    std::string_view sex = TrimSpace(call.Param("sex"));
    if (!sex.empty() && sex != info->sex) {
      return Reply(ocode::kIdcardSexMismatch, "sex 与身份证号码不符");
    }
    std::string_view nation = TrimSpace(call.Param("nation"));
    if (!nation.empty() && !IsNationCode(nation)) {
      return Reply(ocode::kIdcardNationInvalid, "nation 不是 GB 3304 民族代码");
    }
    return Success()
        .Set("idnum", info->id)
        .Set("sex", info->sex)
        .Set("birthday", info->birth_date.ToIsoString());
  }

  SsoContext& context;
  // Disabling or deleting a user ends the user's sessions (UnifiedLogout::EndUser).
  Audit audit{context.sql, context.clock};
  SessionStore sessions{context.tickets, context.clock, context.random, LifetimesOf(context.settings)};
  UnifiedLogout logout{context, sessions, audit};
  SignedApi api;
};

OrgAndUserApi::OrgAndUserApi(SsoContext& context) : impl_(std::make_unique<Impl>(context)) {}
OrgAndUserApi::~OrgAndUserApi() = default;

void OrgAndUserApi::Register(http::Router& router) {
  const std::string base = impl_->context.settings.context_path;
  const SignedApi& api = impl_->api;
  http::Handler servlet = [&api](const http::Request& request, http::Response& response) {
    api.HandleHttp(request, response);
  };
  http::Handler soap = [&api](const http::Request& request, http::Response& response) {
    api.HandleSoap(request, response);
  };
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, base + "/servlet/organduser", servlet, {}, http::ParamErrors::kHandler);
    router.Add(method, base + "/service/OrgAndUserService", soap);
  }
}

}  // namespace tongban::sso
