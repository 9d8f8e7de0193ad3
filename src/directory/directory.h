// Directory: the identity domain service. It keeps orgs, users, access
// resources (apps), roles, positions, grants and account bindings in the
// SqlStore, enforces the SSO specification's rules (returning its codes, see
// codes.h) and writes every change's push messages to the outbox in the same
// transaction. sso/ handlers, the admin CLI and the console call it; it never
// sees HTTP. docs/design/directory.md explains the model and the code tables.
//
// Thread-safe: any thread may call any method. The Random given must be too
// (OpenSslRandom is).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "crypto/password.h"
#include "crypto/secret_box.h"
#include "directory/cache.h"
#include "directory/model.h"
#include "store/sql_store.h"

namespace tongban {
class Outbox;
}  // namespace tongban

namespace tongban::directory {

// The built-in app that stands for tongban itself; its role "admin" makes a
// user a platform administrator (console, admin API).
inline constexpr std::string_view kPlatformApp = "tongban";
inline constexpr std::string_view kPlatformAdminRole = "admin";

struct DirectoryOptions {
  // How many leading orgcoding levels (3 digits each) form a domain. Recorded
  // in the database on first open; Open refuses a different value later, since
  // changing it would silently break login-name uniqueness.
  int domain_levels = 1;
  crypto::PasswordParams password_params;
  // Also store HashPassword(md5hex(password)) so apps may log users in with
  // encryptiontype 3 (see crypto/password.h).
  bool md5_login_variant = false;
  // Refuse users without a mobile number (2019).
  bool require_mobile = false;
  size_t user_cache_capacity = 200'000;
  // How long a cached user or app snapshot is trusted. Changes made through
  // this node invalidate at once; this bounds staleness from other nodes.
  std::chrono::seconds cache_ttl{60};
  // Whether a user's mobile was proven by the user (a self-registered
  // account: an SMS code proved it, and its password is recovered through
  // it). No app moves such a mobile (synchronizeUser: 2003); administrators
  // may. Asked inside the save's transaction, on the user the save resolved;
  // unset: no user's mobile is proven.
  std::function<Result<bool>(soci::session&, const std::string& userid)> mobile_is_proven;
};

// Who asks. An app calling the organduser API is limited by its
// directory_write and org_scope settings; an administrator (console, CLI) is not.
struct Caller {
  std::string servicecode;  // "" = administrator

  static Caller Admin() { return {}; }
  static Caller ForApp(std::string servicecode) { return {std::move(servicecode)}; }
  bool is_admin() const { return servicecode.empty(); }
};

enum class SaveMode {
  kAddOrModify,  // synchronizeUser / synchronizeOrg
  kAddOnly,      // console "create", imports: an existing key is an error (2010 / 1010)
  kModifyOnly,   // an unknown key is an error (2011 / 1104)
};

struct SavedUser {
  User user;
  bool added = false;
  // A modify that gave the user a password other than the one it had (a
  // loginpwd equal to the stored password is not a change: its sessions stay).
  bool password_changed = false;
};

struct SavedOrg {
  Org org;
  bool added = false;
};

// Names one user: by userid, or by loginname (with orgcoding to pick the
// domain when the login name exists in several).
struct UserKey {
  std::string userid;
  std::string loginname;
  std::string orgcoding;
};

struct LoginAttempt {
  std::string loginname;
  std::string orgcoding;  // optional: picks the domain
  std::string password;   // in clear, or the lowercase MD5 hex when md5 is set
  bool md5 = false;       // encryptiontype 3
};

// Prefix search over loginname, username, mobile and idnum (any of them).
struct UserSearch {
  enum class Field { kAny, kUsername, kLoginname, kMobile, kIdnum };
  std::string text;
  std::string org_prefix;     // only users whose main orgcoding starts with this; "" = all
  Field field = Field::kAny;  // which field `text` is a prefix of
  // Counting stops here: a one-letter prefix over a million users would
  // otherwise cost a full index scan per page (PageOf::total is then the cap).
  int64_t max_total = 0;  // 0 = exact
};

struct CreatedApp {
  App app;
  std::string servicepwd;  // in clear, shown once
};

struct DemoSeed {
  bool created = false;  // false when the directory already had orgs (nothing done)
  std::string admin_loginname;
  std::string admin_password;
  std::string demo_servicecode;
  std::string demo_servicepwd;
};

struct ImportReport;

struct ImportOptions {
  int64_t batch_rows = 1000;  // rows per transaction
  // A `loginpwd` column is hashed with argon2id (about 0.1 s a row with the
  // default parameters). When false it is stored as "plain$…" and upgraded at
  // the user's first login: for migrations that cannot wait, at a known risk.
  bool hash_passwords = true;
  bool push = true;  // enqueue synchronizeUser/Org for push-subscribed apps
  // Users only: kAddOnly refuses a row whose login name exists in the row's
  // domain (2010); kAddOrModify changes that user instead (an empty or absent
  // loginpwd then keeps the password).
  SaveMode user_mode = SaveMode::kAddOnly;
  // SQLite only, 0 = leave as configured: the page cache (MiB) of the
  // session an import batch runs on. A batch's inserts land at random places
  // in the user indexes; once those outgrow the cache every insert reads and
  // dirties pages again, and each commit writes them all to the WAL (a 1M
  // import wrote 9 GB with 64 MiB). For short-lived callers (the CLI): the
  // session keeps the larger cache, allocated as used, until it closes.
  int64_t sqlite_cache_mib = 0;
  // Called after each batch with the data rows read so far.
  std::function<void(int64_t rows)> progress;
  // Users: called after each batch's commit with the report so far. Every
  // row it counts as added is committed (survives a crash from then on), and
  // the rows are those of the file's first `rows` data rows that did not fail.
  std::function<void(const ImportReport& so_far)> committed;
  // Users, kAddOrModify: called after each batch's commit for every existing
  // user a row gave a password other than its own (loginpwd or password_hash)
  // or left unable to sign in (`active` false), so that the caller ends the
  // user's sessions,
  // which live above the directory (the console's import). An error stops the
  // import once the batch's users were all called (its rows stay committed).
  std::function<Status(const std::string& userid, bool password_set, bool active)>
      user_access_changed;
};

struct ImportRowError {
  int64_t line = 0;  // 1 = the header
  int code = 0;      // the spec code SaveUser/SaveOrg would return
  std::string message;
};

struct ImportReport {
  static constexpr size_t kMaxErrors = 1000;
  int64_t rows = 0;
  int64_t added = 0;
  int64_t modified = 0;  // orgs, and users imported with SaveMode::kAddOrModify
  int64_t failed = 0;
  std::vector<ImportRowError> errors;  // the first kMaxErrors failures
};

// How a read may answer. kMemoryOnly never touches the database: when the
// answer is not in memory the read fails with kNotCached instead, so that an
// I/O thread can answer cache hits itself and hand only misses to a blocking
// pool (sso/organduser_api.cc).
enum class Lookup { kMayLoad, kMemoryOnly };
inline constexpr int kNotCached = 98;  // outside errc and the spec's codes

class Directory {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Whether `box` opens the apps' sealed secrets in `store` (every app's
  // servicepwd; true when there are none): a node's check of its master key
  // against what the database already holds, before it records the key.
  static Result<bool> KeyOpensAppSecrets(SqlStore& store, const crypto::SecretBox& box);

  // Expects DirectoryMigrations() (and the outbox's) applied. Records or checks
  // options.domain_levels and creates the built-in "tongban" app with its
  // "admin" role when missing. Errors: InvalidArgument for bad options or a
  // domain_levels other than the recorded one; database errors.
  static Result<std::unique_ptr<Directory>> Open(SqlStore& store, Outbox& outbox,
                                                 const Clock& clock, Random& random,
                                                 const crypto::SecretBox& box,
                                                 DirectoryOptions options = {});
  Directory(PrivateTag, SqlStore& store, Outbox& outbox, const Clock& clock, Random& random,
            const crypto::SecretBox& box, DirectoryOptions options);
  ~Directory();
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  const DirectoryOptions& options() const { return options_; }
  // The domain of an orgcoding under the configured domain_levels.
  std::string DomainOf(std::string_view orgcoding) const;

  // ---- Orgs (codes 10xx, 11xx, 12xx) ----

  // synchronizeOrg: adds or modifies the org named by args["orgcoding"].
  // orgcoding is immutable: an org never changes its code.
  Result<SavedOrg> SaveOrg(const Caller& caller, const Fields& args,
                           SaveMode mode = SaveMode::kAddOrModify);
  // Returns the deleted org.
  Result<Org> DeleteOrg(const Caller& caller, std::string_view orgcoding);
  Result<Org> GetOrg(const Caller& caller, std::string_view orgcoding,
                     Lookup lookup = Lookup::kMayLoad);
  // Direct children ordered by orderby, orgcoding; orgcoding "" lists the top level.
  Result<PageOf<Org>> ChildOrgs(const Caller& caller, std::string_view orgcoding, Page page);
  // Orgs whose orgcoding or orgname starts with `text`.
  Result<PageOf<Org>> SearchOrgs(std::string_view text, Page page);

  // ---- Users (codes 20xx, 21xx, 28xx, 64xx) ----

  // synchronizeUser. The user is named by args["userid"] (must exist: 2011),
  // else by args["oldloginname"] (must exist), else by args["loginname"] in the
  // domain of args["orgcoding"] (added when absent). A missing loginname on add
  // is generated from username (张三 -> zhangs, zhangs1, ...). `loginpwd` is
  // decoded per `encryptiontype` (default 1) with the calling app's
  // password_key; an empty loginpwd on modify leaves the password unchanged.
  Result<SavedUser> SaveUser(const Caller& caller, const Fields& args,
                             SaveMode mode = SaveMode::kAddOrModify);
  // Returns the deleted user. Its grants and bindings go with it.
  Result<User> DeleteUser(const Caller& caller, const UserKey& key);
  // From the snapshot cache. 2803 malformed, 2804 unknown, 2802 outside scope.
  Result<std::shared_ptr<const User>> GetUserById(const Caller& caller, std::string_view userid,
                                                  Lookup lookup = Lookup::kMayLoad);
  Result<std::shared_ptr<const User>> GetUserByLoginname(const Caller& caller,
                                                         std::string_view loginname,
                                                         std::string_view orgcoding = {},
                                                         Lookup lookup = Lookup::kMayLoad);
  // Users whose main org is `orgcoding` (or, with include_suborgs, any org
  // below it too), ordered by orderby, loginname.
  Result<PageOf<User>> UsersByOrg(const Caller& caller, std::string_view orgcoding, Page page,
                                  bool include_suborgs = false);
  // Index-range prefix search; ordered by loginname. Admin-side.
  Result<PageOf<User>> SearchUsers(const UserSearch& search, Page page);

  // Replaces the password (argon2id). 2804 unknown user, 2007 empty password.
  Status SetPassword(std::string_view userid, std::string_view plain);
  // The password login. 6401 unknown, 6402 wrong password, 6403 bad orgcoding,
  // 6404 MD5 login impossible for this user, 6406 ambiguous login name,
  // 6407 locked, 6408 inactive. The password is checked before the account
  // state, so a guesser learns nothing about locked accounts. A legacy or
  // outdated hash is replaced after a successful check.
  Result<std::shared_ptr<const User>> VerifyLogin(const LoginAttempt& attempt);
  // Checks a known user's password (e.g. before a password change): 6401, 6402.
  Status CheckPassword(std::string_view userid, std::string_view plain);
  Status LockUser(std::string_view userid);
  Status UnlockUser(std::string_view userid);

  // Hot path: the user's snapshot, from memory after the first load (no SQL,
  // no allocation). 2803 malformed id, 2804 unknown user.
  Result<std::shared_ptr<const User>> CachedUser(std::string_view userid,
                                                 Lookup lookup = Lookup::kMayLoad);

  // ---- Apps (9900 unknown, 9904 disabled; InvalidArgument for bad settings) ----

  // Creates an app from `settings` (servicecode "" = generate one; secrets and
  // timestamps ignored) with a fresh random servicepwd, returned once.
  Result<CreatedApp> CreateApp(const App& settings);
  // A new servicepwd, returned once; the old one stops working at once.
  Result<std::string> RotateSecret(std::string_view servicecode);
  // A new key for incoming passwords of encryptiontype 4 (AES-192) and 5
  // (3DES): 24 printable characters, returned once.
  Result<std::string> RotatePasswordKey(std::string_view servicecode);
  // Settings without secrets.
  Result<App> GetApp(std::string_view servicecode);
  Result<std::vector<App>> ListApps();
  // Replaces every setting of the app named by settings.servicecode except
  // the secrets and timestamps.
  Result<App> UpdateApp(const App& settings);
  Status SetAppEnabled(std::string_view servicecode, bool enabled);
  Status DisableApp(std::string_view servicecode) { return SetAppEnabled(servicecode, false); }
  // Hot path (every signed call): the app with its secrets in clear, from
  // memory after the first load. Disabled apps are returned too (the caller
  // answers 9904).
  Result<std::shared_ptr<const App>> CachedApp(std::string_view servicecode,
                                               Lookup lookup = Lookup::kMayLoad);
  Result<std::string> AppSecret(std::string_view servicecode);

  // ---- Roles, positions, grants (41xx, 42xx, 43xx) ----

  Result<Role> SaveRole(const Role& role);
  Status DeleteRole(std::string_view app, std::string_view rolecode);
  Result<std::vector<Role>> Roles(std::string_view app);
  Result<Position> SavePosition(const Position& position);
  Status DeletePosition(std::string_view app, std::string_view positioncode);
  Result<std::vector<Position>> Positions(std::string_view app);
  Status GrantRole(std::string_view userid, std::string_view app, std::string_view rolecode);
  Status RevokeRole(std::string_view userid, std::string_view app, std::string_view rolecode);
  // The user's roles in `app` ("" = in every app).
  Result<std::vector<Role>> UserRoles(std::string_view userid, std::string_view app);
  Result<bool> IsPlatformAdmin(std::string_view userid);
  // The apps a user may open (getUserSys): enabled apps that are open_to_all
  // or in which the user holds at least one role.
  Result<std::vector<App>> UserSystems(std::string_view userid);

  // ---- Account bindings (29xx) ----

  // Binds the user to `account` in the app, replacing the user's earlier
  // account there. 2905 when the account belongs to another user.
  Status Bind(const Binding& binding);
  Status Unbind(std::string_view app, std::string_view userid);
  // getSsoUserByMap: the SSO userid bound to the app account.
  Result<std::string> SsoUserByMap(std::string_view app, std::string_view account);
  // getMapUserBySso: the app account bound to the SSO user.
  Result<std::string> MapUserBySso(std::string_view app, std::string_view userid);

  // ---- Seeding, import, export ----

  // On a directory without orgs: org 001 演示省, org 001001 演示市政务服务中心,
  // user `admin` (platform admin) and app `demo` (callbacks http://127.0.0.1
  // and http://localhost) with fresh random credentials, returned once. Does
  // nothing (created = false) when any org exists.
  Result<DemoSeed> SeedDemo();

  // CSV with a header row of spec field names (any order; unknown columns are
  // an error so that a typo is not silently dropped). Users are add-only;
  // besides the user fields a row may carry `loginpwd` (clear text, with
  // `encryptiontype` 1 or 2) or `password_hash` ("md5$hex", "sha1$salt$hex",
  // "plain$text", "$argon2id$…": stored as it is). Failed rows are reported and
  // skipped; the others commit in batches. A malformed CSV stops the import
  // (errc::kInvalidArgument naming the line), keeping the batches before it.
  Result<ImportReport> ImportUsers(std::istream& csv, const ImportOptions& options = {});
  // Orgs: header of org field names (+ orderby); add-or-modify; parents first.
  Result<ImportReport> ImportOrgs(std::istream& csv, const ImportOptions& options = {});
  // Every user (no password hashes) / org as CSV readable by the importers.
  Status ExportUsers(std::ostream& out);
  Status ExportOrgs(std::ostream& out);

  // Drops every cached snapshot (tests, and after restoring a backup).
  void ClearCaches();

  // Several nodes on one database: drops the snapshots of users and apps that
  // other nodes changed since the last call (every change is logged in
  // dir_changes), so a lock, delete or secret rotation reaches every node
  // within the polling interval instead of the cache TTL. The node calls it
  // about once a second; it also forgets log entries older than ten minutes.
  // Returns how many snapshots were dropped. `on_user_changed`, when given,
  // hears the userid of every user change read (its own node's too, and a
  // change may be heard more than once: the log is re-read with an overlap).
  Result<int64_t> FollowChanges(
      const std::function<void(const std::string& userid)>& on_user_changed = {});

  // The implementation's shared helpers (impl.h); opaque to everyone else.
  struct Impl;

 private:
  friend struct Impl;

  // Drops the snapshot of user ('u'), app ('a'), org ('o') or one user's
  // roles in one app ('r', RolesKey; "" = every user's) here and logs the
  // change for the other nodes (FollowChanges).
  // Kind 'l': a login key's holders (LoginHolders; "" = every login key's).
  void Changed(char kind, std::string_view key);
  // A saved or deleted user: 'u' for its userid and 'l' for its login key,
  // logged in one statement.
  void ChangedUser(std::string_view userid, std::string_view loginname);
  void Forget(char kind, std::string_view key);  // the local half of Changed
  // Who holds a login key, from memory after the first read (which also
  // fills the user snapshots of the holders it finds). `refresh` skips the
  // cached entry (it proved stale).
  Result<std::shared_ptr<const LoginHolders>> HoldersOf(const std::string& loginkey,
                                                        bool refresh,
                                                        Lookup lookup = Lookup::kMayLoad);
  // Coalesced misses: a memory-only lookup that misses a login key notes it
  // (NoteWantedLogin, bounded); the first load on the pool then reads every
  // noted key with its own in one `loginkey IN (…)` statement
  // (LoadHoldersBatch), so the calls queued behind it find their users in
  // memory. One statement (one round trip on PostgreSQL) per pool pass
  // instead of one per miss.
  void NoteWantedLogin(const std::string& loginkey);
  std::vector<std::string> TakeWantedLogins(const std::string& own);
  Status LoadHoldersBatch(const std::vector<std::string>& loginkeys);
  // The org's snapshot, from memory after the first load: getOrgInfo is an
  // app's everyday read. kOrgReadNotFound when there is no such org.
  Result<std::shared_ptr<const Org>> CachedOrg(std::string_view orgcoding,
                                               Lookup lookup = Lookup::kMayLoad);
  static std::string RolesKey(std::string_view userid, std::string_view app);
  Result<std::vector<Role>> LoadUserRoles(std::string_view userid, std::string_view app);

  SqlStore& store_;
  Outbox& outbox_;
  const Clock& clock_;
  Random& random_;
  const crypto::SecretBox& box_;
  DirectoryOptions options_;
  SnapshotCache<User> users_;
  SnapshotCache<App> apps_;
  SnapshotCache<std::vector<Role>> roles_;  // by RolesKey
  SnapshotCache<Org> orgs_;
  SnapshotCache<LoginHolders> logins_;  // by login key (LoginKey)
  std::mutex wanted_mu_;
  std::vector<std::string> wanted_logins_;  // NoteWantedLogin's, at most kMaxBatchedLogins
  // FollowChanges reads the log from here (ms, the writers' clocks) on.
  std::atomic<int64_t> changes_read_from_ms_;
  std::atomic<int64_t> follow_calls_{0};
  // An argon2id hash checked when a login names no user, so that "no such
  // user" takes as long as "wrong password".
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

// The app's allowed_ips admit `ip` (IPv4 or IPv6 text; entries are addresses
// or CIDR blocks). An empty list admits everyone.
bool SourceIpAllowed(const App& app, std::string_view ip);
// `url` starts with one of the app's callback_urls at a boundary: the prefix
// ends in '/', or the URL continues with '/', '?', '#' or ':' (a port). So
// "http://127.0.0.1" admits "http://127.0.0.1:8080/cb" but not
// "http://127.0.0.1.evil.example/" or "http://127.0.0.1@evil.example/".
// Raw text comparison: protocol endpoints compare normalised forms instead
// (sso::CallbackMatch), since "/cb/.%2e/x" starts with "/cb/" yet leaves it.
bool CallbackAllowed(const App& app, std::string_view url);
// `url` starts with `prefix` at a boundary, as CallbackAllowed compares them.
bool UrlUnderPrefix(std::string_view prefix, std::string_view url);

}  // namespace tongban::directory
