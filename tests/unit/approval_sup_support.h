// Test support for the supervision and statistics tests: a temp SQLite store
// with the case engine's and supervision's tables, and cases written straight
// into approval_cases (the engine is not needed to read them).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "approval/calendar.h"
#include "approval/engine.h"
#include "approval/preferences.h"
#include "approval/supervision.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace approval_test {

using tongban::approval::Day;

// Milliseconds of a China Standard Time wall-clock moment.
inline int64_t Cst(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
  using namespace std::chrono;
  auto day = sys_days(year(y) / month(m) / std::chrono::day(d));
  auto t = day + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms) - hours(8);
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

inline Day D(int y, unsigned m, unsigned d) {
  return Day(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d));
}

struct CaseSeed {
  std::string number;
  std::string implement_code = "11330000000000000X000000000000001";
  std::string matter_name = "测试事项";
  std::string orgcoding = "org-a";
  std::string division = "330100";
  std::string state = "in_step";
  int current_step = 0;
  std::string pending_role = "undertake";
  std::string pending_org = "org-a";
  int corrections = 0;
  int64_t registered_at = 0;
  int64_t accepted_at = 0;
  int64_t completed_at = 0;
  int64_t deadline_at = 0;
  int64_t step_started_at = 0;
  int64_t step_deadline_at = 0;
  int64_t stopped_since = 0;
  int stopped_days = 0;
  int result = -1;
};

// A fresh database on `backend` ("sqlite", "postgres", "mariadb": a private
// server, see store_test_support.h) with the case and supervision tables.
// A holiday (a weekday off) on `division`'s calendar.
inline void AddHoliday(tongban::approval::CalendarStore& calendars, const std::string& division,
                       Day day) {
  tongban::approval::CalendarEntry entry;
  entry.division = division;
  entry.day = day;
  entry.kind = tongban::approval::DayKind::kHoliday;
  auto put = calendars.Put(entry);
  ASSERT_TRUE(put.ok()) << put.error().message;
}

class Db {
 public:
  // "" when open, else why not (the test skips when no server can be started).
  std::string Open(std::string_view backend) {
    std::string why;
    std::string url = tongban::store_test::FreshDatabaseUrl(backend, dir_, &why);
    if (url.empty()) return why.empty() ? "no database" : why;
    auto store = tongban::SqlStore::Open(url, 4);
    if (!store.ok()) return store.error().message;
    store_ = std::move(*store);
    std::vector<tongban::Migration> migrations = tongban::approval::CaseEngine::Migrations();
    for (auto& m : tongban::approval::CalendarStore::Migrations()) migrations.push_back(m);
    for (auto& m : tongban::approval::Supervision::Migrations()) migrations.push_back(m);
    // Statistics read the ratings (approval_ratings) beside the cases.
    for (auto& m : tongban::approval::Preferences::Migrations()) migrations.push_back(m);
    auto migrated = store_->Migrate(migrations);
    if (!migrated.ok()) {
      ADD_FAILURE() << migrated.error().message;
      return migrated.error().message;
    }
    return "";
  }

  tongban::SqlStore& store() { return *store_; }

  int64_t Insert(const CaseSeed& c) {
    auto id = store_->WithTransaction([&](soci::session& sql) -> tongban::Result<int64_t> {
      long long registered = c.registered_at, accepted = c.accepted_at, completed = c.completed_at,
                deadline = c.deadline_at, step_started = c.step_started_at,
                step_deadline = c.step_deadline_at, stopped_since = c.stopped_since;
      std::string number = c.number.empty() ? "case-" + std::to_string(++serial_) : c.number;
      sql << "INSERT INTO approval_cases (number, implement_code, matter_version, matter_name, "
             "orgcoding, division, applicant_type, applicant_name, applicant_id, applicant_json, "
             "materials_json, state, current_step, pending_role, pending_org, corrections, "
             "registered_at, accepted_at, completed_at, deadline_at, step_started_at, "
             "step_deadline_at, stopped_since, stopped_days, result) VALUES (:n, :ic, 1, :mn, "
             ":org, :div, 'person', '张三', '110101199003070011', '{}', '[]', :st, :cs, :pr, "
             ":po, :corr, :reg, :acc, :comp, :dl, :ss, :sd, :stop, :days, :res)",
          soci::use(number), soci::use(c.implement_code), soci::use(c.matter_name),
          soci::use(c.orgcoding), soci::use(c.division), soci::use(c.state),
          soci::use(c.current_step), soci::use(c.pending_role), soci::use(c.pending_org),
          soci::use(c.corrections), soci::use(registered), soci::use(accepted),
          soci::use(completed), soci::use(deadline), soci::use(step_started),
          soci::use(step_deadline), soci::use(stopped_since), soci::use(c.stopped_days),
          soci::use(c.result);
      long long id = 0;
      sql << "SELECT id FROM approval_cases WHERE number = :n", soci::use(number), soci::into(id);
      return static_cast<int64_t>(id);
    });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  void Exec(const std::string& statement) {
    auto done = store_->WithTransaction([&](soci::session& sql) -> tongban::Status {
      sql << statement;
      return tongban::Status::Ok();
    });
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

 private:
  tongban::store_test::TempDir dir_;
  std::unique_ptr<tongban::SqlStore> store_;
  int serial_ = 0;
};

}  // namespace approval_test
