// Directory: demo seeding, CSV import (batched, per-row errors) and export.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>

#include "crypto/password.h"
#include "directory/codes.h"
#include "directory/csv.h"
#include "directory/directory.h"
#include "directory/impl.h"

namespace tongban::directory {

namespace {

using internal::CsvReader;

// The extra (non-field) columns a user import understands.
constexpr std::string_view kPasswordHashColumn = "password_hash";

std::set<std::string, std::less<>> UserImportColumns() {
  std::set<std::string, std::less<>> names = {"userid",         "useable",
                                              "orderby",        "loginpwd",
                                              "encryptiontype", std::string(kPasswordHashColumn)};
  for (const internal::UserText& f : internal::UserTexts()) names.emplace(f.name);
  return names;
}

std::set<std::string, std::less<>> OrgImportColumns() {
  std::set<std::string, std::less<>> names = {"orgcoding", "orderby"};
  for (const internal::OrgText& f : internal::OrgTexts()) names.emplace(f.name);
  return names;
}

Result<std::vector<std::string>> ReadHeader(CsvReader& reader,
                                            const std::set<std::string, std::less<>>& allowed) {
  std::vector<std::string> header;
  auto got = reader.Next(&header);
  if (!got.ok()) return std::move(got).error();
  if (!*got) return Error::InvalidArgument("line 1: the CSV has no header row");
  std::set<std::string> seen;
  for (std::string& name : header) {
    while (!name.empty() && name.back() == ' ') name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
    if (!allowed.contains(name)) {
      return Error::InvalidArgument("line 1: unknown column '" + name.substr(0, 64) + "'");
    }
    if (!seen.insert(name).second) {
      return Error::InvalidArgument("line 1: column '" + name + "' appears twice");
    }
  }
  return header;
}

struct Row {
  int64_t line = 0;
  Fields fields;
  PreparedPassword password;
};

// An existing user an upsert row gave a new password or left unable to sign
// in (ImportOptions::user_access_changed). Whether the password is new is
// settled after the commit (Directory::Impl::SamePassword).
struct AccessChange {
  std::string userid;
  bool password_set = false;
  bool active = true;
  const Row* row = nullptr;
  ReplacedPassword replaced;
};

// Notes `saved` in `changes` when it may be such a user.
void NoteAccessChange(const ImportOptions& options, const Row& row, const SavedUser& saved,
                      ReplacedPassword replaced, std::vector<AccessChange>* changes) {
  if (!options.user_access_changed || saved.added) return;
  if (!replaced.replaced && saved.user.active()) return;
  changes->push_back(AccessChange{saved.user.userid, replaced.replaced, saved.user.active(), &row,
                                  std::move(replaced)});
}

// Tells the caller of every change, even after one failed; the first error.
Status ReportAccessChanges(const ImportOptions& options, const std::vector<AccessChange>& changes) {
  Status first = Status::Ok();
  for (const AccessChange& c : changes) {
    if (!c.password_set && c.active) continue;  // the password given was the user's own
    Status told = options.user_access_changed(c.userid, c.password_set, c.active);
    if (!told.ok() && first.ok()) first = std::move(told);
  }
  return first;
}

void Note(ImportReport* report, int64_t line, const Error& e) {
  ++report->failed;
  if (report->errors.size() < ImportReport::kMaxErrors) {
    report->errors.push_back(ImportRowError{line, e.code, e.message});
  }
}

bool IsInfrastructure(const Error& e) { return e.code < 1000; }

}  // namespace

// ---------------------------------------------------------------- seeding

Result<DemoSeed> Directory::SeedDemo() {
  auto state = store_.WithTransaction([&](soci::session& sql) -> Result<std::string> {
    std::string value;
    sql << "SELECT value FROM dir_settings WHERE name = 'demo_seed'", soci::into(value);
    if (sql.got_data()) return value;
    value = Impl::Count(sql, "SELECT COUNT(*) FROM dir_orgs", {}) > 0 ? "skipped" : "started";
    sql << "INSERT INTO dir_settings (name, value) VALUES ('demo_seed', :v)", soci::use(value);
    return value;
  });
  if (!state.ok()) return std::move(state).error();
  DemoSeed seed;
  if (*state != "started") return seed;

  // Each step checks for its own result, so a seeding cut short by a crash
  // completes on the next start.
  const Caller admin = Caller::Admin();
  for (const auto& [coding, name] :
       {std::pair<const char*, const char*>{"001", "演示省"}, {"001001", "演示市政务服务中心"}}) {
    auto org = GetOrg(admin, coding);
    if (org.ok()) continue;
    if (org.error().code != code::kOrgReadNotFound) return std::move(org).error();
    auto saved = SaveOrg(admin, {{"orgcoding", coding}, {"orgname", name}}, SaveMode::kAddOnly);
    if (!saved.ok()) return std::move(saved).error();
  }
  seed.admin_loginname = "admin";
  auto existing = GetUserByLoginname(admin, "admin", "001001");
  std::string admin_id;
  if (existing.ok()) {
    admin_id = (*existing)->userid;
  } else if (existing.error().code == code::kUserReadNotFound) {
    seed.admin_password = Impl::RandomText(random_, 16);
    auto saved = SaveUser(admin,
                          {{"loginname", "admin"},
                           {"username", "系统管理员"},
                           {"orgcoding", "001001"},
                           {"loginpwd", seed.admin_password}},
                          SaveMode::kAddOnly);
    if (!saved.ok()) return std::move(saved).error();
    admin_id = saved->user.userid;
  } else {
    return std::move(existing).error();
  }
  TB_RETURN_IF_ERROR(GrantRole(admin_id, kPlatformApp, kPlatformAdminRole));
  seed.demo_servicecode = "demo";
  auto demo = GetApp("demo");
  if (!demo.ok()) {
    if (demo.error().code != code::kAppNotFound) return std::move(demo).error();
    App settings;
    settings.servicecode = "demo";
    settings.name = "演示应用";
    settings.callback_urls = {"http://127.0.0.1", "http://localhost"};
    settings.open_to_all = true;
    settings.directory_write = true;
    // The demo province: what the documented examples write (001001, a new
    // 001002), and no more. The admin in 001001 is out of reach anyway, as
    // every platform account is.
    settings.org_scope = "001";
    auto created = CreateApp(settings);
    if (!created.ok()) return std::move(created).error();
    seed.demo_servicepwd = std::move(created->servicepwd);
  }
  Status done = store_.WithTransaction([&](soci::session& sql) -> Status {
    sql << "UPDATE dir_settings SET value = 'done' WHERE name = 'demo_seed'";
    return Status::Ok();
  });
  TB_RETURN_IF_ERROR(done);
  seed.created = true;
  return seed;
}

// ---------------------------------------------------------------- import

Result<ImportReport> Directory::ImportUsers(std::istream& csv, const ImportOptions& options) {
  if (options.batch_rows < 1) return Error::InvalidArgument("batch_rows must be at least 1");
  CsvReader reader(csv);
  auto header = ReadHeader(reader, UserImportColumns());
  if (!header.ok()) return std::move(header).error();
  ImportReport report;
  std::vector<std::string> record;
  // PostgreSQL: when to refresh dir_users' statistics (below).
  int64_t analyze_at = 1;
  // After a commit: a password a row gave that the user already had is no
  // change (the user keeps its sessions).
  auto settle_password_changes = [this](std::vector<AccessChange>* changes) {
    for (AccessChange& c : *changes) {
      if (c.password_set &&
          Impl::SamePassword(*this, nullptr, c.row->fields, c.row->password, c.replaced)) {
        c.password_set = false;
      }
    }
  };
  bool more = true;
  while (more) {
    // Read and prepare one batch outside any transaction: hashing is slow.
    std::vector<Row> batch;
    while (static_cast<int64_t>(batch.size()) < options.batch_rows) {
      auto got = reader.Next(&record);
      if (!got.ok()) return std::move(got).error();
      if (!*got) {
        more = false;
        break;
      }
      if (record.size() == 1 && record[0].empty()) continue;  // a blank line
      ++report.rows;
      Row row;
      row.line = reader.record_line();
      if (record.size() != header->size()) {
        Note(&report, row.line, Error{code::kUserArgsIllegal, "wrong number of columns"});
        continue;
      }
      for (size_t i = 0; i < record.size(); ++i) row.fields[(*header)[i]] = std::move(record[i]);
      auto hash = row.fields.find(kPasswordHashColumn);
      if (hash != row.fields.end() && !hash->second.empty()) {
        std::string_view stored = hash->second;
        Result<std::string> normalized = Error::InvalidArgument("");
        if (stored.starts_with("$")) {
          if (crypto::IsRecognizedPasswordHash(stored)) normalized = std::string(stored);
        } else if (size_t dollar = stored.find('$'); dollar != std::string_view::npos) {
          normalized =
              crypto::LegacyHashForImport(stored.substr(0, dollar), stored.substr(dollar + 1));
        }
        if (!normalized.ok()) {
          Note(&report, row.line, Error{code::kUserArgsIllegal, "password_hash is not usable"});
          continue;
        }
        row.password = PreparedPassword{true, std::move(*normalized), ""};
      } else {
        auto prepared = Impl::PreparePassword(*this, nullptr, row.fields, options.hash_passwords);
        if (!prepared.ok()) {
          if (IsInfrastructure(prepared.error())) return std::move(prepared).error();
          Note(&report, row.line, prepared.error());
          continue;
        }
        row.password = std::move(*prepared);
      }
      batch.push_back(std::move(row));
    }
    if (batch.empty()) {
      if (options.progress) options.progress(report.rows);
      continue;
    }
    // Fast path: the whole batch in one transaction; a row's rule violation is
    // noted and skipped (SaveUserInTx checks everything before it writes).
    ImportReport batch_report;
    std::vector<std::string> batch_modified;
    std::vector<AccessChange> access_changes;
    Status committed = store_.WithTransaction([&](soci::session& sql) -> Status {
      batch_report = ImportReport{};
      batch_modified.clear();
      access_changes.clear();
      if (options.sqlite_cache_mib > 0 && store_.backend() == SqlStore::Backend::kSqlite) {
        sql << "PRAGMA cache_size=-" + std::to_string(options.sqlite_cache_mib * 1024);
      }
      std::vector<PushTarget> targets;
      if (options.push) targets = Impl::PushTargets(sql);
      // Add-only batches read and write set-at-a-time (UserBatch); others
      // reuse one prepared INSERT.
      std::optional<UserBatch> bulk;
      std::optional<UserInsert> insert;
      if (options.user_mode == SaveMode::kAddOnly) {
        std::vector<const Fields*> fields;
        fields.reserve(batch.size());
        for (const Row& row : batch) fields.push_back(&row.fields);
        bulk.emplace(store_, sql, fields, std::string(kPlatformApp));
      } else {
        insert.emplace(sql);
      }
      for (const Row& row : batch) {
        ReplacedPassword replaced;
        auto saved = Impl::SaveUserInTx(*this, sql, nullptr, row.fields, options.user_mode,
                                        row.password, &targets, insert ? &*insert : nullptr,
                                        bulk ? &*bulk : nullptr, &replaced);
        if (saved.ok() && saved->added) {
          ++batch_report.added;
        } else if (saved.ok()) {
          ++batch_report.modified;
          batch_modified.push_back(saved->user.userid);
          NoteAccessChange(options, row, *saved, std::move(replaced), &access_changes);
        } else if (IsInfrastructure(saved.error())) {
          return std::move(saved).error();
        } else {
          Note(&batch_report, row.line, saved.error());
        }
      }
      if (bulk) bulk->Flush();
      return Status::Ok();
    });
    if (committed.ok()) {
      report.added += batch_report.added;
      report.modified += batch_report.modified;
      report.failed += batch_report.failed;
      for (const std::string& userid : batch_modified) Changed('u', userid);
      for (ImportRowError& e : batch_report.errors) {
        if (report.errors.size() < ImportReport::kMaxErrors) report.errors.push_back(std::move(e));
      }
    } else {
      if (committed.error().code == errc::kUnavailable) return std::move(committed).error();
      // Slow path: something only the database saw (a race, a constraint);
      // retry row by row so that one bad row costs only itself.
      access_changes.clear();
      for (const Row& row : batch) {
        ReplacedPassword replaced;
        auto saved = store_.WithTransaction([&](soci::session& sql) {
          replaced = ReplacedPassword{};
          std::vector<PushTarget> targets;
          if (options.push) targets = Impl::PushTargets(sql);
          return Impl::SaveUserInTx(*this, sql, nullptr, row.fields, options.user_mode,
                                    row.password, &targets, nullptr, nullptr, &replaced);
        });
        if (saved.ok() && saved->added) {
          ++report.added;
          continue;
        }
        if (saved.ok()) {
          ++report.modified;
          Changed('u', saved->user.userid);
          NoteAccessChange(options, row, *saved, std::move(replaced), &access_changes);
          continue;
        }
        if (saved.error().code == errc::kUnavailable) {
          // The rows before this one are committed: report them (and let the
          // other nodes drop their login-name entries) before giving up.
          Changed('l', "");
          settle_password_changes(&access_changes);
          Status told = ReportAccessChanges(options, access_changes);
          if (options.committed) options.committed(report);
          Error failed = std::move(saved).error();
          if (!told.ok()) {
            // Said in the answer too: an operator must know that users whose
            // password this import changed may still be logged in.
            spdlog::error("import: sessions not ended: {}", told.error().message);
            failed.message += "; the sessions of users whose password or access changed were "
                              "not all ended (" + told.error().message + ")";
          }
          return failed;
        }
        Note(&report, row.line, Impl::UserConflict(std::move(saved).error()));
      }
    }
    // Added users may make login names exist or ambiguous: every node drops
    // its login-name entries (one change a batch, not one a row).
    Changed('l', "");
    // Only after the commit: a login with the old password between an
    // earlier ending and the commit would have kept its session.
    settle_password_changes(&access_changes);
    if (Status told = ReportAccessChanges(options, access_changes); !told.ok()) {
      if (options.committed) options.committed(report);
      return std::move(told).error();
    }
    // PostgreSQL plans a batch's `IN (…500 keys)` reads from the table's
    // statistics, which autovacuum refreshes only well after a bulk load has
    // grown the table: with none (or an empty table's), it estimates each
    // list to match much of the table and scans all of it, so every batch
    // read the whole table (most of a 1M import's database CPU). ANALYZE
    // (a sample, well under a second) after the first batch and whenever the
    // import has doubled what it had added at the last one, if another batch
    // follows (a one-batch upload from the console pays nothing).
    if (more && store_.backend() == SqlStore::Backend::kPostgres &&
        report.added >= analyze_at) {
      // Best effort: the batch is committed whatever ANALYZE does.
      Status analyzed = store_.WithSession([](soci::session& sql) -> Status {
        sql << "ANALYZE dir_users";
        return Status::Ok();
      });
      if (!analyzed.ok()) {
        spdlog::warn("directory import: ANALYZE dir_users failed (later batches may plan badly): {}",
                     analyzed.error().message);
      }
      analyze_at = report.added * 2;
    }
    if (options.committed) options.committed(report);
    if (options.progress) options.progress(report.rows);
  }
  return report;
}

Result<ImportReport> Directory::ImportOrgs(std::istream& csv, const ImportOptions& options) {
  if (options.batch_rows < 1) return Error::InvalidArgument("batch_rows must be at least 1");
  CsvReader reader(csv);
  auto header = ReadHeader(reader, OrgImportColumns());
  if (!header.ok()) return std::move(header).error();
  ImportReport report;
  std::vector<Row> rows;
  std::vector<std::string> record;
  while (true) {
    auto got = reader.Next(&record);
    if (!got.ok()) return std::move(got).error();
    if (!*got) break;
    if (record.size() == 1 && record[0].empty()) continue;
    ++report.rows;
    Row row;
    row.line = reader.record_line();
    if (record.size() != header->size()) {
      Note(&report, row.line, Error{code::kOrgArgsIllegal, "wrong number of columns"});
      continue;
    }
    for (size_t i = 0; i < record.size(); ++i) row.fields[(*header)[i]] = std::move(record[i]);
    rows.push_back(std::move(row));
  }
  // Parents before children, whatever the file's order.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    auto size = [](const Row& r) {
      auto it = r.fields.find("orgcoding");
      return it == r.fields.end() ? size_t{0} : it->second.size();
    };
    return size(a) < size(b);
  });
  int64_t done = 0;
  for (const Row& row : rows) {
    auto saved = store_.WithTransaction([&](soci::session& sql) {
      return Impl::SaveOrgInTx(*this, sql, nullptr, row.fields, SaveMode::kAddOrModify,
                               options.push);
    });
    if (saved.ok()) {
      ++(saved->added ? report.added : report.modified);
      if (!saved->added) Changed('o', saved->org.orgcoding);
    } else if (saved.error().code == errc::kUnavailable) {
      return std::move(saved).error();
    } else {
      Note(&report, row.line, saved.error());
    }
    if (options.progress && ++done % options.batch_rows == 0) options.progress(done);
  }
  if (options.progress) options.progress(report.rows);
  return report;
}

// ---------------------------------------------------------------- export

Status Directory::ExportUsers(std::ostream& out) {
  std::vector<std::string_view> names = {"userid"};
  for (const internal::UserText& f : internal::UserTexts()) names.push_back(f.name);
  names.push_back("useable");
  names.push_back("orderby");
  std::string buf;
  internal::AppendCsvRecord(names, &buf);
  out << buf;
  Status st = store_.WithSession([&](soci::session& sql) -> Status {
    internal::UserRow row;
    soci::statement stmt(sql);
    internal::BindUserRow(stmt, row);
    stmt.alloc();
    stmt.prepare("SELECT " + internal::UserSelectColumns() +
                 " FROM dir_users ORDER BY orgcoding, orderby, loginkey");
    stmt.define_and_bind();
    if (!stmt.execute(true)) return Status::Ok();
    std::vector<std::string_view> fields;
    do {
      row.Finish();
      const User& u = row.user;
      std::string useable = std::to_string(u.useable);
      std::string orderby = std::to_string(u.orderby);
      fields.clear();
      fields.push_back(u.userid);
      for (const internal::UserText& f : internal::UserTexts()) fields.push_back(u.*f.member);
      fields.push_back(useable);
      fields.push_back(orderby);
      buf.clear();
      internal::AppendCsvRecord(fields, &buf);
      out << buf;
      if (!out) return Error::Unavailable("export: the output stream failed");
    } while (stmt.fetch());
    return Status::Ok();
  });
  TB_RETURN_IF_ERROR(st);
  out.flush();
  if (!out) return Error::Unavailable("export: the output stream failed");
  return Status::Ok();
}

Status Directory::ExportOrgs(std::ostream& out) {
  std::vector<std::string_view> names = {"orgcoding"};
  for (const internal::OrgText& f : internal::OrgTexts()) names.push_back(f.name);
  names.push_back("orderby");
  std::string buf;
  internal::AppendCsvRecord(names, &buf);
  out << buf;
  auto orgs = store_.WithSession([&](soci::session& sql) -> Result<std::vector<Org>> {
    return Impl::QueryOrgs(sql, "ORDER BY orgcoding", {});
  });
  if (!orgs.ok()) return std::move(orgs).error();
  for (const Org& org : *orgs) {
    std::string orderby = std::to_string(org.orderby);
    std::vector<std::string_view> fields = {org.orgcoding};
    for (const internal::OrgText& f : internal::OrgTexts()) fields.push_back(org.*f.member);
    fields.push_back(orderby);
    buf.clear();
    internal::AppendCsvRecord(fields, &buf);
    out << buf;
  }
  out.flush();
  if (!out) return Error::Unavailable("export: the output stream failed");
  return Status::Ok();
}

}  // namespace tongban::directory
