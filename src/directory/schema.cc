#include "directory/schema.h"

#include <string>

namespace tongban::directory {
namespace {

// Written once for every dialect (sql_dialect::ExpandSchema). {KEY} is the type
// of keys and of columns searched by prefix range (`col >= :p AND col < :p_end`):
// byte-ordered everywhere (PostgreSQL COLLATE "C", MySQL utf8mb4_bin), so a
// prefix range is an index range whatever the database's locale. Foreign keys
// are table constraints: MySQL ignores REFERENCES written on a column.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE dir_settings (
  name {KEY} PRIMARY KEY,
  value {TEXT} NOT NULL
){END};

CREATE TABLE dir_orgs (
  orgcoding {KEY} PRIMARY KEY,
  parent {KEY} NOT NULL,
  domain {KEY} NOT NULL,
  orgname {KEY} NOT NULL,
  orgallname {TEXT} NOT NULL DEFAULT '',
  principalname {TEXT} NOT NULL DEFAULT '',
  orgphone {TEXT} NOT NULL DEFAULT '',
  orgoffice {TEXT} NOT NULL DEFAULT '',
  devcoding {TEXT} NOT NULL DEFAULT '',
  nodetype {TEXT} NOT NULL DEFAULT '',
  orderby BIGINT NOT NULL DEFAULT 0,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
){END};
CREATE INDEX dir_orgs_children ON dir_orgs (parent, orderby, orgcoding);
CREATE UNIQUE INDEX dir_orgs_sibling_name ON dir_orgs (parent, orgname);
CREATE INDEX dir_orgs_name ON dir_orgs (orgname);

CREATE TABLE dir_users (
  userid {KEY} PRIMARY KEY,
  loginname {TEXT} NOT NULL,
  loginkey {KEY} NOT NULL,
  domain {KEY} NOT NULL,
  username {KEY} NOT NULL,
  orgcoding {KEY} NOT NULL,
  extendorgcoding {TEXT} NOT NULL DEFAULT '',
  extendorderby {TEXT} NOT NULL DEFAULT '',
  email {TEXT} NOT NULL DEFAULT '',
  mobile {KEY} NOT NULL DEFAULT '',
  mobile2 {TEXT} NOT NULL DEFAULT '',
  telephone {TEXT} NOT NULL DEFAULT '',
  telephone2 {TEXT} NOT NULL DEFAULT '',
  virtualnum {TEXT} NOT NULL DEFAULT '',
  userposition {TEXT} NOT NULL DEFAULT '',
  usertitle {TEXT} NOT NULL DEFAULT '',
  official {TEXT} NOT NULL DEFAULT '',
  officialtype {TEXT} NOT NULL DEFAULT '',
  postcode {TEXT} NOT NULL DEFAULT '',
  country {TEXT} NOT NULL DEFAULT '',
  province {TEXT} NOT NULL DEFAULT '',
  city {TEXT} NOT NULL DEFAULT '',
  officeaddress {TEXT} NOT NULL DEFAULT '',
  officenum {TEXT} NOT NULL DEFAULT '',
  officephone {TEXT} NOT NULL DEFAULT '',
  officefax {TEXT} NOT NULL DEFAULT '',
  homephone {TEXT} NOT NULL DEFAULT '',
  homeaddress {TEXT} NOT NULL DEFAULT '',
  cakey {TEXT} NOT NULL DEFAULT '',
  sex {TEXT} NOT NULL DEFAULT '',
  birthday {TEXT} NOT NULL DEFAULT '',
  idtype {TEXT} NOT NULL DEFAULT '',
  idnum {KEY} NOT NULL DEFAULT '',
  passport {TEXT} NOT NULL DEFAULT '',
  permitlicense {TEXT} NOT NULL DEFAULT '',
  taiwanlicense {TEXT} NOT NULL DEFAULT '',
  officerlicense {TEXT} NOT NULL DEFAULT '',
  greencard {TEXT} NOT NULL DEFAULT '',
  nation {TEXT} NOT NULL DEFAULT '',
  headpicture {TEXT} NOT NULL DEFAULT '',
  usertype {TEXT} NOT NULL DEFAULT '',
  authlevel {TEXT} NOT NULL DEFAULT '',
  officeid {TEXT} NOT NULL DEFAULT '',
  idphoto {TEXT} NOT NULL DEFAULT '',
  memo {TEXT} NOT NULL DEFAULT '',
  useable INTEGER NOT NULL DEFAULT 1,
  locked INTEGER NOT NULL DEFAULT 0,
  orderby BIGINT NOT NULL DEFAULT 0,
  password_hash {TEXT} NOT NULL DEFAULT '',
  password_md5 {TEXT} NOT NULL DEFAULT '',
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  FOREIGN KEY (orgcoding) REFERENCES dir_orgs (orgcoding)
){END};
CREATE UNIQUE INDEX dir_users_login ON dir_users (loginkey, domain);
{UNIQUE_MOBILE}
CREATE INDEX dir_users_idnum ON dir_users (idnum);
CREATE INDEX dir_users_username ON dir_users (username);
CREATE INDEX dir_users_org ON dir_users (orgcoding, orderby, loginkey);

CREATE TABLE dir_user_orgs (
  userid {KEY} NOT NULL,
  orgcoding {KEY} NOT NULL,
  orderby BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (userid, orgcoding),
  FOREIGN KEY (userid) REFERENCES dir_users (userid) ON DELETE CASCADE,
  FOREIGN KEY (orgcoding) REFERENCES dir_orgs (orgcoding)
){END};
CREATE INDEX dir_user_orgs_org ON dir_user_orgs (orgcoding);

CREATE TABLE dir_apps (
  servicecode {KEY} PRIMARY KEY,
  name {TEXT} NOT NULL,
  orgcoding {KEY} NOT NULL DEFAULT '',
  servicepwd_sealed {TEXT} NOT NULL,
  password_key_sealed {TEXT} NOT NULL DEFAULT '',
  signtype {TEXT} NOT NULL DEFAULT 'md5',
  allowed_ips {TEXT} NOT NULL DEFAULT '[]',
  callback_urls {TEXT} NOT NULL DEFAULT '[]',
  logout_url {TEXT} NOT NULL DEFAULT '',
  push_url {TEXT} NOT NULL DEFAULT '',
  push_enabled INTEGER NOT NULL DEFAULT 0,
  datatype {TEXT} NOT NULL DEFAULT 'json',
  proxy_right INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  protocol_zj INTEGER NOT NULL DEFAULT 1,
  protocol_cas INTEGER NOT NULL DEFAULT 0,
  protocol_oidc INTEGER NOT NULL DEFAULT 0,
  directory_write INTEGER NOT NULL DEFAULT 0,
  org_scope {TEXT} NOT NULL DEFAULT '',
  open_to_all INTEGER NOT NULL DEFAULT 0,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
){END};
CREATE INDEX dir_apps_org ON dir_apps (orgcoding);

CREATE TABLE dir_roles (
  app {KEY} NOT NULL,
  rolecode {KEY} NOT NULL,
  rolename {TEXT} NOT NULL,
  memo {TEXT} NOT NULL DEFAULT '',
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (app, rolecode),
  FOREIGN KEY (app) REFERENCES dir_apps (servicecode)
){END};

CREATE TABLE dir_positions (
  app {KEY} NOT NULL,
  positioncode {KEY} NOT NULL,
  positionname {TEXT} NOT NULL,
  memo {TEXT} NOT NULL DEFAULT '',
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (app, positioncode),
  FOREIGN KEY (app) REFERENCES dir_apps (servicecode)
){END};

CREATE TABLE dir_user_roles (
  userid {KEY} NOT NULL,
  app {KEY} NOT NULL,
  rolecode {KEY} NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (userid, app, rolecode),
  FOREIGN KEY (app, rolecode) REFERENCES dir_roles (app, rolecode) ON DELETE CASCADE,
  FOREIGN KEY (userid) REFERENCES dir_users (userid) ON DELETE CASCADE
){END};
CREATE INDEX dir_user_roles_role ON dir_user_roles (app, rolecode);

CREATE TABLE dir_bindings (
  app {KEY} NOT NULL,
  account {KEY} NOT NULL,
  userid {KEY} NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (app, account),
  FOREIGN KEY (app) REFERENCES dir_apps (servicecode),
  FOREIGN KEY (userid) REFERENCES dir_users (userid) ON DELETE CASCADE
){END};
CREATE UNIQUE INDEX dir_bindings_user ON dir_bindings (userid, app);
)sql";

}  // namespace

std::vector<Migration> DirectoryMigrations() {
  // Version 2: the change log other nodes follow to drop stale snapshots.
  constexpr const char* kVersion2 =
      "CREATE TABLE dir_changes (at_ms BIGINT NOT NULL, kind {TEXT} NOT NULL, "
      "cache_key {TEXT} NOT NULL){END};"
      "CREATE INDEX dir_changes_at ON dir_changes (at_ms);";
  // Version 3: per-app push URLs by method, the placeholder-password choice
  // for pushed new users, and whether idValidation may use encryptiontype 3.
  constexpr const char* kVersion3 =
      "ALTER TABLE dir_apps ADD COLUMN push_urls {TEXT} NOT NULL DEFAULT '{}';"
      "ALTER TABLE dir_apps ADD COLUMN push_password {TEXT} NOT NULL DEFAULT 'placeholder';"
      "ALTER TABLE dir_apps ADD COLUMN md5_login INTEGER NOT NULL DEFAULT 0;";
  // Version 4: an app's sign_mode (spec, hmac-sha256, hmac-sm3); issue 12 item 2.
  constexpr const char* kVersion4 =
      "ALTER TABLE dir_apps ADD COLUMN sign_mode {TEXT} NOT NULL DEFAULT 'spec';";
  std::vector<Migration> out;
  Migration v1{"directory", 1, "", "", ""};
  for (SqlDialect d : {SqlDialect::kSqlite, SqlDialect::kPostgres, SqlDialect::kMySql}) {
    std::string script = kVersion1;
    // A mobile number is unique when given; many users have none.
    script.replace(script.find("{UNIQUE_MOBILE}"), 15,
                   sql_dialect::UniqueWhenNotEmpty(d, "dir_users_mobile", "dir_users", "mobile"));
    std::string expanded = sql_dialect::ExpandSchema(script, d);
    (d == SqlDialect::kSqlite     ? v1.sqlite
     : d == SqlDialect::kPostgres ? v1.postgres
                                  : v1.mysql) = std::move(expanded);
  }
  out.push_back(std::move(v1));
  out.push_back(PortableMigration("directory", 2, kVersion2));
  out.push_back(PortableMigration("directory", 3, kVersion3));
  out.push_back(PortableMigration("directory", 4, kVersion4));
  // Version 5 (issue 19): a search by name walks (username, loginkey, domain)
  // in order and stops at the page, instead of sorting every match.
  constexpr const char* kVersion5 =
      "CREATE INDEX dir_users_name_login ON dir_users (username, loginkey, domain);"
      "DROP INDEX dir_users_username";
  out.push_back(Migration{"directory", 5, std::string(kVersion5) + ";", "",
                          std::string(kVersion5) + " ON dir_users;"});
  // Issue 20, citizen accounts: the lowest real-name level an app admits.
  out.push_back(PortableMigration(
      "sso_citizen", 1, "ALTER TABLE dir_apps ADD COLUMN min_authlevel INTEGER NOT NULL DEFAULT 0;"));
  return out;
}

}  // namespace tongban::directory
