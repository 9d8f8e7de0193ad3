// The identity directory's data model: orgs, users, access resources (apps),
// roles, positions, user-role grants and account bindings, with the SSO
// specification's field names. Used by directory/ and by the sso/ handlers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sign.h"

namespace tongban::directory {

// Named string arguments as an app sends them in `args` (synchronizeUser,
// synchronizeOrg) or as a CSV row carries them. A key that is present sets its
// field (even to ""); a key that is absent leaves a modified record's field as
// it was. Unknown keys are ignored (apps send extras such as `describe`).
using Fields = std::map<std::string, std::string, std::less<>>;

// An organisation. `orgcoding` is hierarchical, 3 digits a level ("001",
// "001002"); the parent is the code minus its last 3 digits. `domain` is the
// first DirectoryOptions::domain_levels levels of the code: login names are
// unique among the orgs of one domain, and users move only within it.
struct Org {
  std::string orgcoding;
  std::string orgname;
  std::string orgallname;
  std::string principalname;
  std::string orgphone;
  std::string orgoffice;
  std::string devcoding;
  std::string nodetype;
  int64_t orderby = 0;
  std::string parent;  // derived: "" for a top-level org
  std::string domain;  // derived from orgcoding
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// Text rendered from one immutable snapshot (a user's organduser reply in
// each wire format), kept with it so a repeated read copies one prepared
// buffer instead of building and rendering ~45 fields again. It is exact by
// construction: a snapshot never changes, and a changed user is a new
// snapshot with an empty memo. So that a record copied from a snapshot and
// then edited (SaveUser does) can never answer the old text, a copy or a
// move starts empty, and an assignment empties the target. Only immutable
// snapshots (shared_ptr<const User> from the directory) may be memoised.
// Thread-safe: the first text stored in a slot wins and stays until the
// snapshot dies.
class RenderMemo {
 public:
  static constexpr size_t kSlots = 2;  // one per format (sso: JSON, XML)

  RenderMemo() noexcept = default;
  RenderMemo(const RenderMemo&) noexcept {}
  RenderMemo(RenderMemo&& other) noexcept { other.Reset(); }
  RenderMemo& operator=(const RenderMemo&) noexcept {
    Reset();
    return *this;
  }
  RenderMemo& operator=(RenderMemo&& other) noexcept {
    Reset();
    other.Reset();
    return *this;
  }
  ~RenderMemo() { Reset(); }

  // The text stored in `slot`, or nullptr.
  const std::string* Get(size_t slot) const noexcept {
    return slots_[slot].load(std::memory_order_acquire);
  }
  // Stores `text` in `slot` unless another thread stored first; returns the
  // slot's text either way (valid while this memo lives).
  const std::string* Put(size_t slot, std::string text) const {
    auto* mine = new std::string(std::move(text));
    const std::string* expected = nullptr;
    if (slots_[slot].compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) {
      return mine;
    }
    delete mine;
    return expected;
  }
  // Whether this snapshot was asked for before (and now it has been): text
  // is stored from the second answer on, so a snapshot read once (a cold
  // lookup) costs no extra copy or memory.
  bool AskedBefore() const noexcept { return asked_.exchange(true, std::memory_order_relaxed); }

 private:
  void Reset() noexcept {
    for (auto& slot : slots_) delete slot.exchange(nullptr, std::memory_order_acq_rel);
    asked_.store(false, std::memory_order_relaxed);
  }

  mutable std::atomic<const std::string*> slots_[kSlots] = {};
  mutable std::atomic<bool> asked_{false};
};

// A person's account. Every field of the spec's user `args` table and of its
// user-info reply, under the spec's names. The password hash is not part of
// this type: it never leaves the directory.
struct User {
  std::string userid;  // 32 lowercase hex characters
  std::string loginname;
  std::string username;
  std::string orgcoding;
  std::string extendorgcoding;  // further orgs, ';'-separated
  std::string extendorderby;    // "001:1;002:3": the user's sort number in each further org
  std::string email;
  std::string mobile;
  std::string mobile2;
  std::string telephone;
  std::string telephone2;
  std::string virtualnum;
  std::string userposition;  // position codes, ';'-separated
  std::string usertitle;
  std::string official;      // 1 or 2
  std::string officialtype;  // 1 administrative, 2 public institution
  std::string postcode;
  std::string country;
  std::string province;
  std::string city;
  std::string officeaddress;
  std::string officenum;
  std::string officephone;
  std::string officefax;
  std::string homephone;
  std::string homeaddress;
  std::string cakey;
  std::string sex;  // 1 male, 2 female
  std::string birthday;
  std::string idtype;  // 1 resident ID card, 2 passport, 3 officer ID, ...
  std::string idnum;
  std::string passport;
  std::string permitlicense;
  std::string taiwanlicense;
  std::string officerlicense;
  std::string greencard;
  std::string nation;  // GB 3304-91 code
  std::string headpicture;
  std::string
      usertype;  // see docs/design/directory.md: 1 staff, 2 public, 3 legal-person agent, 9 system
  std::string authlevel;  // 1 anonymous, 2 real-name, 3 real-person
  std::string officeid;
  std::string idphoto;
  std::string memo;
  int useable = 1;      // 1 active, 2 inactive (refused at login)
  bool locked = false;  // locked by an administrator: refused at login and to app sync
  int64_t orderby = 0;
  std::string domain;  // derived from orgcoding
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // Replies rendered from this record when it is a cached snapshot (see
  // RenderMemo: a copy of the record starts without them).
  RenderMemo replies;

  // May sign in and keep using what earlier sign-ins gave: neither disabled
  // nor locked. Every token-taking method and the session sweep ask this.
  bool active() const { return useable == 1 && !locked; }
};

// Which sign-on protocols an app may use.
struct Protocols {
  bool zj = true;  // the spec's easyAuth / commnetAuth / organduser interfaces
  bool cas = false;
  bool oidc = false;
};

inline constexpr std::string_view kPushPasswordPlaceholder = "placeholder";
inline constexpr std::string_view kPushPasswordOmit = "omit";

// An access resource (接入资源): an application that signs calls with its
// servicecode and servicepwd, receives tickets at its callback URLs and may
// receive directory pushes.
struct App {
  std::string servicecode;
  std::string name;
  std::string orgcoding;  // owning org; "" for none (DeleteOrg refuses while an app names it)
  crypto::SignType signtype = crypto::SignType::kMd5;
  // Which signatures its calls may carry: kSpec (the spec's, the default) or
  // a required request signature (docs/integrate-zj.md §2a).
  crypto::SignMode sign_mode = crypto::SignMode::kSpec;
  std::vector<std::string> allowed_ips;    // addresses or CIDR blocks; empty = any source
  std::vector<std::string> callback_urls;  // allowed ticket/redirect URL prefixes
  std::string logout_url;                  // back-channel logout; "" = none
  std::string push_url;                    // where directory changes are POSTed; "" = none
  bool push_enabled = false;
  std::string datatype = "json";  // of pushes: "json" or "xml"
  // Push URLs per method ("synchronizeUser" -> URL), for receivers that serve
  // each method at its own address; a method not named goes to push_url.
  std::map<std::string, std::string> push_urls;
  // What a pushed synchronizeUser introducing a user to the app carries as
  // loginpwd: kPushPasswordPlaceholder (a random password, encryptiontype 1;
  // receivers built on the spec's sample require one) or kPushPasswordOmit.
  std::string push_password = "placeholder";
  // idValidation may use encryptiontype 3 (the MD5 of the password). It also
  // needs the directory's md5_login_variant (or a legacy MD5 hash).
  bool md5_login = false;
  bool proxy_right = false;       // may obtain proxy tickets for other apps
  bool enabled = true;            // a disabled app gets 9904 on every call
  Protocols protocols;
  bool directory_write = false;  // may synchronizeUser/Org and delete (else 1001/2001)
  std::string org_scope;         // orgcoding prefix the app may see and change; "" = all
  bool open_to_all = false;      // listed in every user's systems without a role grant
  // The lowest real-name level (authlevel) a user needs to sign in to the
  // app; 0 = none. Checked where tickets and codes are issued (sso/citizen.h).
  int min_authlevel = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  // Secrets, in clear. Filled only in the snapshots CachedApp returns; empty
  // everywhere else. Never log them.
  std::string servicepwd;
  std::string password_key;  // key for incoming passwords of encryptiontype 4/5; "" = none
};

struct Role {
  std::string app;  // servicecode of the owning app
  std::string rolecode;
  std::string rolename;
  std::string memo;
};

// A job position (职务) defined by an app; users carry codes in `userposition`.
struct Position {
  std::string app;
  std::string positioncode;
  std::string positionname;
  std::string memo;
};

struct UserRole {
  std::string userid;
  std::string app;
  std::string rolecode;
};

// Links an SSO user to the account name the user has inside one app.
struct Binding {
  std::string userid;
  std::string app;
  std::string account;
};

// A page request: `number` counts from 1; `size` is 1..kMaxPageSize.
struct Page {
  static constexpr int64_t kMaxPageSize = 1000;
  int64_t number = 1;
  int64_t size = 100;
};

template <typename T>
struct PageOf {
  int64_t total = 0;  // matching records over all pages
  std::vector<T> items;
};

}  // namespace tongban::directory
