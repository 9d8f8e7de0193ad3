// Internal to directory/: Directory::Impl, the helpers the directory's .cc
// files share (row queries, caller rights, push fan-out, password
// preparation, the transactional core of SaveUser that imports reuse).
#pragma once

#include <soci/soci.h>

#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/value.h"
#include "core/result.h"
#include "directory/directory.h"
#include "directory/internal.h"

namespace tongban::directory {

// Named string parameters of one query, bound by name.
using Params = std::vector<std::pair<std::string, std::string>>;

// An app that receives pushes, as the fan-out needs it.
struct PushTarget {
  std::string servicecode;
  std::string org_scope;
};

// A password ready to store, computed before the transaction (hashing is slow
// and must not hold the write lock).
struct PreparedPassword {
  bool set = false;
  std::string primary;
  std::string md5_variant;
};

// The stored password a modify replaced (SaveUserInTx fills it when it writes
// one), so the caller can tell, after the commit, whether it really changed.
struct ReplacedPassword {
  bool replaced = false;
  std::string hash;
  std::string md5_variant;
};

// A prepared INSERT INTO dir_users, reused for every row an import batch adds
// on one session (preparing a 55-column statement per row dominated imports).
class UserInsert {
 public:
  explicit UserInsert(soci::session& sql);
  void Insert(const User& user, const PreparedPassword& password);

 private:
  User row_;
  std::string loginkey_;
  int locked_ = 0;
  long long orderby_ = 0;
  long long created_ms_ = 0;
  long long updated_ms_ = 0;
  std::string hash_;
  std::string md5_;
  soci::statement st_;
};

// An add-only import batch, for SaveUserInTx: what it would ask the database
// row by row (is the userid free, the login name, the mobile; does the org
// exist) is read for the whole batch at once, and the rows it adds are
// written together at the end (SqlStore::BulkInsert: PostgreSQL COPY). The
// rows the batch adds count as taken for the rows after them. Everything runs
// inside the batch's transaction; the unique indexes still decide races.
class UserBatch {
 public:
  // Reads what `rows` (the batch's fields) need to know.
  UserBatch(SqlStore& store, soci::session& sql, const std::vector<const Fields*>& rows,
            const std::string& platform_app);
  bool UseridTaken(const std::string& userid) const;
  bool OrgExists(const std::string& orgcoding);
  // nullopt: the key was not read with the batch (a generated login name): ask the database.
  std::optional<bool> LoginTaken(const std::string& loginkey, const std::string& domain,
                                 const std::string& userid) const;
  std::optional<bool> MobileTaken(const std::string& mobile, const std::string& userid) const;
  void Add(const User& user, const PreparedPassword& password);
  void AddUserOrg(const std::string& userid, const std::string& orgcoding, int64_t orderby);
  // Writes the added rows. Throws on a database error.
  void Flush();
  size_t added() const { return users_.size(); }

 private:
  SqlStore& store_;
  soci::session& sql_;
  std::set<std::string> userids_taken_;
  std::set<std::string> keys_read_;
  // login key -> (domain, userid) of every holder read or added
  std::multimap<std::string, std::pair<std::string, std::string>> holders_;
  std::map<std::string, std::string> platform_keys_;  // login key -> platform userid
  std::set<std::string> mobiles_read_;
  std::map<std::string, std::string> mobiles_;  // mobile -> userid
  std::map<std::string, bool> orgs_;
  std::vector<std::vector<std::string>> users_;
  std::vector<std::vector<std::string>> user_orgs_;
};

struct Directory::Impl {
  // ---- rows ----
  static std::vector<User> QueryUsers(soci::session& sql, std::string_view tail,
                                      const Params& params);
  static std::optional<User> QueryUser(soci::session& sql, std::string_view tail,
                                       const Params& params);
  static std::vector<Org> QueryOrgs(soci::session& sql, std::string_view tail,
                                    const Params& params);
  static std::optional<Org> QueryOrg(soci::session& sql, std::string_view orgcoding);
  // The same with the statement kept per session (hot and per-row callers).
  static std::optional<Org> QueryOrg(SqlStore& store, soci::session& sql,
                                     std::string_view orgcoding);
  static int64_t Count(soci::session& sql, std::string_view query, const Params& params);
  static Result<std::optional<App>> QueryApp(soci::session& sql, std::string_view servicecode,
                                             std::string* sealed_pwd, std::string* sealed_key);
  static Result<std::vector<App>> QueryApps(soci::session& sql, std::string_view tail,
                                            const Params& params);

  // ---- callers ----
  // The calling app, or nullptr for an administrator. 9900 for an unknown app.
  static Result<std::shared_ptr<const App>> CallerApp(Directory& d, const Caller& caller,
                                                      Lookup lookup = Lookup::kMayLoad);

  // ---- pushes ----
  static std::vector<PushTarget> PushTargets(soci::session& sql);
  // `ordering_key`: the entity the message is about (wire.h's *OrderingKey).
  static Status Enqueue(Directory& d, soci::session& sql, std::string_view app,
                        std::string_view method, const codec::Value& args,
                        std::string_view ordering_key);
  // synchronizeUser to every target that sees the user's new org; deleteUser
  // to targets that saw only its old org. `before` is null for an add.
  static Status PushUser(Directory& d, soci::session& sql, const std::vector<PushTarget>& targets,
                         std::string_view origin, const User* before, const User& after);
  static Status PushUserDeleted(Directory& d, soci::session& sql, std::string_view origin,
                                const User& user);
  // To the app that owns a role or position, when it is push-subscribed.
  static Status PushToOwner(Directory& d, soci::session& sql, std::string_view app,
                            std::string_view method, const codec::Value& args,
                            std::string_view ordering_key);
  static Status PushUserRoles(Directory& d, soci::session& sql, std::string_view userid,
                              std::string_view app);

  // ---- users ----
  // Decodes and hashes args' loginpwd (per encryptiontype and the app's key).
  static Result<PreparedPassword> PreparePassword(Directory& d, const App* app, const Fields& args,
                                                  bool hash);
  static Result<PreparedPassword> HashForStorage(Directory& d, std::string_view plain);
  // True when the password args gave (prepared as `given`) is the one
  // `replaced` held: the same stored form, or args' loginpwd verifies against
  // it. One argon2id verification, so only after the commit: a refused write
  // that verified would tell its caller, by its time and as often as asked,
  // whether it had guessed the stored password.
  static bool SamePassword(Directory& d, const App* app, const Fields& args,
                           const PreparedPassword& given, const ReplacedPassword& replaced);
  // The whole of SaveUser after password preparation, inside `sql`'s
  // transaction. `targets` (null: read them) and `insert` (null: prepare one)
  // let an import batch reuse them across rows.
  static Result<SavedUser> SaveUserInTx(Directory& d, soci::session& sql, const App* app,
                                        const Fields& args, SaveMode mode,
                                        const PreparedPassword& password,
                                        const std::vector<PushTarget>* targets, UserInsert* insert,
                                        UserBatch* batch = nullptr,
                                        ReplacedPassword* replaced = nullptr);
  // Maps a unique-constraint failure on dir_users to 2010/2018.
  static Error UserConflict(Error e);

  // ---- platform accounts ----
  // A platform account holds a role of the platform app (kPlatformApp). Apps
  // never change or delete one (2003 / 2103), and its login name is reserved
  // in every domain, so that no app can take over or shadow `admin`.
  static bool IsPlatformAccount(soci::session& sql, const std::string& userid);
  // A platform account other than `userid` has this login key (any domain).
  static bool LoginReservedByPlatform(soci::session& sql, const std::string& loginkey,
                                      const std::string& userid);
  // Any user other than `userid` has this login key (any domain).
  static bool LoginKeyHeldElsewhere(soci::session& sql, const std::string& loginkey,
                                    const std::string& userid);

  // ---- orgs ----
  static Result<SavedOrg> SaveOrgInTx(Directory& d, soci::session& sql, const App* app,
                                      const Fields& args, SaveMode mode, bool push);

  // ---- apps ----
  static Status ValidateAppSettings(const App& app);
  static Result<std::shared_ptr<const App>> LoadApp(Directory& d, std::string_view servicecode);
  static std::string SecretContext(std::string_view kind, std::string_view servicecode);
  static std::string RandomText(Random& random, size_t length);
  static Result<CreatedApp> CreateAppInTx(Directory& d, soci::session& sql, const App& settings);
  // Seals `secret` for the app and stores it in `kind`_sealed ("servicepwd"
  // or "password_key"); returns the secret, or 9900 for an unknown app.
  static Result<std::string> ReplaceSealedSecret(Directory& d, std::string_view servicecode,
                                                 std::string_view kind, std::string secret);

  // ---- roles ----
  static Status EnsureBuiltins(Directory& d);
};

}  // namespace tongban::directory
