#include "approval/preferences.h"

#include <algorithm>
#include <set>

#include "store/sql_dialect.h"

namespace tongban::approval {

namespace {

constexpr const char* kPrefsV1 = R"sql(
CREATE TABLE approval_opinions (
  id {ID},
  userid {KEY} NOT NULL,
  position INTEGER NOT NULL,
  text {TEXT} NOT NULL,
  created_at BIGINT NOT NULL
){END};
CREATE INDEX approval_opinions_by_user ON approval_opinions (userid, position);

CREATE TABLE approval_hidden_matters (
  userid {KEY} NOT NULL,
  implement_code {KEY} NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (userid, implement_code)
){END};

CREATE TABLE approval_ratings (
  case_number {KEY} NOT NULL PRIMARY KEY,
  level INTEGER NOT NULL,
  comment {TEXT} NOT NULL,
  at BIGINT NOT NULL
){END};
)sql";

// Version 2: the five online indicators of a rating (gov-domain-notes §1.5),
// 0 for ratings made before them or without them.
constexpr const char* kPrefsV2 = R"sql(
ALTER TABLE approval_ratings ADD COLUMN overall INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approval_ratings ADD COLUMN efficiency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approval_ratings ADD COLUMN guide_accuracy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approval_ratings ADD COLUMN convenience INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approval_ratings ADD COLUMN usability INTEGER NOT NULL DEFAULT 0;
)sql";

// LockUntilCommit class of a user's opinion list ("ap" + 1).
constexpr int kOpinionLockClass = 0x6170 + 1;
constexpr size_t kMaxOpinions = 100;
constexpr size_t kMaxOpinionBytes = 1500;  // 500 Chinese characters in UTF-8

size_t Utf8Length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

std::vector<Migration> Preferences::Migrations() {
  return {PortableMigration("approval_prefs", 1, kPrefsV1),
          PortableMigration("approval_prefs", 2, kPrefsV2)};
}

int RatingIndicators::Get(size_t i) const {
  switch (i) {
    case 0: return overall;
    case 1: return efficiency;
    case 2: return guide_accuracy;
    case 3: return convenience;
    case 4: return usability;
    default: return 0;
  }
}

void RatingIndicators::Set(size_t i, int value) {
  switch (i) {
    case 0: overall = value; break;
    case 1: efficiency = value; break;
    case 2: guide_accuracy = value; break;
    case 3: convenience = value; break;
    case 4: usability = value; break;
    default: break;
  }
}

bool RatingIndicators::Any() const {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (Get(i) != 0) return true;
  }
  return false;
}

Preferences::Preferences(SqlStore& store, Clock& clock) : store_(store), clock_(clock) {}

Result<std::vector<Opinion>> Preferences::Opinions(std::string_view userid) {
  std::string u(userid);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Opinion>> {
    Opinion row;
    long long id = 0;
    soci::statement st = (sql.prepare << "SELECT id, text FROM approval_opinions WHERE userid = :u "
                                         "ORDER BY position, id",
                          soci::use(u, "u"), soci::into(id), soci::into(row.text));
    std::vector<Opinion> out;
    if (st.execute(true)) {
      do {
        row.id = id;
        out.push_back(row);
      } while (st.fetch());
    }
    return out;
  });
}

Result<Opinion> Preferences::AddOpinion(std::string_view userid, std::string_view text) {
  if (text.empty() || Utf8Length(text) > 500 || text.size() > kMaxOpinionBytes) {
    return Error::InvalidArgument("常用意见应为 1 到 500 个字");
  }
  std::string u(userid);
  std::string t(text);
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Result<Opinion> {
    // Serialises a user's additions so two tabs cannot both take the last place.
    sql_dialect::LockUntilCommit(sql, dialect, kOpinionLockClass, u);
    long long count = 0;
    sql << "SELECT COUNT(*) FROM approval_opinions WHERE userid = :u", soci::use(u, "u"),
        soci::into(count);
    if (static_cast<size_t>(count) >= kMaxOpinions) {
      return Error::InvalidArgument("常用意见最多 100 条，请先删除不用的");
    }
    long long position = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT MAX(position) FROM approval_opinions WHERE userid = :u", soci::use(u, "u"),
        soci::into(position, ind);
    position = ind == soci::i_ok ? position + 1 : 0;
    long long now = clock_.NowMillis();
    long long id = 0;
    const std::string insert =
        "INSERT INTO approval_opinions (userid, position, text, created_at) "
        "VALUES (:u, :p, :t, :c)";
    if (sql_dialect::HasReturning(dialect)) {
      sql << insert + " RETURNING id", soci::use(u, "u"), soci::use(position, "p"),
          soci::use(t, "t"), soci::use(now, "c"), soci::into(id);
    } else {
      sql << insert, soci::use(u, "u"), soci::use(position, "p"), soci::use(t, "t"),
          soci::use(now, "c");
      id = sql_dialect::LastInsertId(sql, dialect);
    }
    return Opinion{id, t};
  });
}

Result<Opinion> Preferences::UpdateOpinion(std::string_view userid, int64_t id,
                                           std::string_view text) {
  if (text.empty() || Utf8Length(text) > 500 || text.size() > kMaxOpinionBytes) {
    return Error::InvalidArgument("常用意见应为 1 到 500 个字");
  }
  std::string u(userid);
  std::string t(text);
  long long i = id;
  return store_.WithTransaction([&](soci::session& sql) -> Result<Opinion> {
    // The owner is part of the key: another user's id is as absent as an unknown one.
    soci::statement update =
        (sql.prepare << "UPDATE approval_opinions SET text = :t WHERE userid = :u AND id = :i",
         soci::use(t, "t"), soci::use(u, "u"), soci::use(i, "i"));
    update.execute(true);
    if (update.get_affected_rows() == 0) {
      // MySQL counts changed rows: the same text again changes none. Tell that
      // apart from a missing row.
      long long found = 0;
      sql << "SELECT COUNT(*) FROM approval_opinions WHERE userid = :u AND id = :i",
          soci::use(u, "u"), soci::use(i, "i"), soci::into(found);
      if (found == 0) return Error::NotFound("没有这条常用意见");
    }
    return Opinion{id, t};
  });
}

Status Preferences::DeleteOpinion(std::string_view userid, int64_t id) {
  std::string u(userid);
  long long i = id;
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    soci::statement del =
        (sql.prepare << "DELETE FROM approval_opinions WHERE userid = :u AND id = :i",
         soci::use(u, "u"), soci::use(i, "i"));
    del.execute(true);
    if (del.get_affected_rows() == 0) return Error::NotFound("没有这条常用意见");
    return Status::Ok();
  });
}

Status Preferences::ReorderOpinions(std::string_view userid, const std::vector<int64_t>& ids) {
  std::string u(userid);
  const SqlDialect dialect = store_.dialect();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    sql_dialect::LockUntilCommit(sql, dialect, kOpinionLockClass, u);
    std::set<int64_t> existing;
    long long id = 0;
    soci::statement st = (sql.prepare << "SELECT id FROM approval_opinions WHERE userid = :u",
                          soci::use(u, "u"), soci::into(id));
    if (st.execute(true)) {
      do {
        existing.insert(id);
      } while (st.fetch());
    }
    std::set<int64_t> given(ids.begin(), ids.end());
    if (given.size() != ids.size() || given != existing) {
      return Error::InvalidArgument("排序应恰好列出您的每一条常用意见各一次");
    }
    for (size_t position = 0; position < ids.size(); ++position) {
      long long p = static_cast<long long>(position);
      long long i = ids[position];
      sql << "UPDATE approval_opinions SET position = :p WHERE userid = :u AND id = :i",
          soci::use(p, "p"), soci::use(u, "u"), soci::use(i, "i");
    }
    return Status::Ok();
  });
}

Result<std::vector<std::string>> Preferences::HiddenMatters(std::string_view userid) {
  std::string u(userid);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<std::string>> {
    std::string code;
    soci::statement st = (sql.prepare << "SELECT implement_code FROM approval_hidden_matters "
                                         "WHERE userid = :u ORDER BY implement_code",
                          soci::use(u, "u"), soci::into(code));
    std::vector<std::string> out;
    if (st.execute(true)) {
      do {
        out.push_back(code);
      } while (st.fetch());
    }
    return out;
  });
}

Status Preferences::SetMatterHidden(std::string_view userid, std::string_view implement_code,
                                    bool hidden) {
  std::string u(userid);
  std::string c(implement_code);
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    sql << "DELETE FROM approval_hidden_matters WHERE userid = :u AND implement_code = :c",
        soci::use(u, "u"), soci::use(c, "c");
    if (hidden) {
      long long now = clock_.NowMillis();
      sql << "INSERT INTO approval_hidden_matters (userid, implement_code, created_at) "
             "VALUES (:u, :c, :n)",
          soci::use(u, "u"), soci::use(c, "c"), soci::use(now, "n");
    }
    return Status::Ok();
  });
}

Status Preferences::Rate(const Rating& rating) {
  if (rating.level < 1 || rating.level > 5) {
    return Error::InvalidArgument("评价等级应为 1 到 5");
  }
  if (Utf8Length(rating.comment) > 500 || rating.comment.size() > kMaxOpinionBytes) {
    return Error::InvalidArgument("评价内容最多 500 个字");
  }
  const RatingIndicators& given = rating.indicators;
  for (size_t i = 0; i < RatingIndicators::kNames.size(); ++i) {
    if (given.Get(i) < 0 || given.Get(i) > 5) {
      return Error::InvalidArgument("评价指标 " + std::string(RatingIndicators::kNames[i]) +
                                    " 应为 1 到 5");
    }
  }
  Status rated = store_.WithTransaction([&](soci::session& sql) -> Status {
    long long now = clock_.NowMillis();
    int level = rating.level;
    int overall = given.overall, efficiency = given.efficiency,
        guide_accuracy = given.guide_accuracy, convenience = given.convenience,
        usability = given.usability;
    sql << "INSERT INTO approval_ratings (case_number, level, comment, at, overall, efficiency, "
           "guide_accuracy, convenience, usability) "
           "VALUES (:n, :l, :c, :a, :o, :e, :g, :v, :u)",
        soci::use(rating.case_number, "n"), soci::use(level, "l"), soci::use(rating.comment, "c"),
        soci::use(now, "a"), soci::use(overall, "o"), soci::use(efficiency, "e"),
        soci::use(guide_accuracy, "g"), soci::use(convenience, "v"), soci::use(usability, "u");
    return Status::Ok();
  });
  if (!rated.ok() && rated.error().code == errc::kConflict) {
    return Error::AlreadyExists("该办件已评价过，每件只能评价一次");
  }
  return rated;
}

Result<std::optional<Rating>> Preferences::RatingOf(std::string_view case_number) {
  std::string n(case_number);
  return store_.WithSession([&](soci::session& sql) -> Result<std::optional<Rating>> {
    Rating r;
    long long at = 0;
    RatingIndicators& i = r.indicators;
    sql << "SELECT level, comment, at, overall, efficiency, guide_accuracy, convenience, "
           "usability FROM approval_ratings WHERE case_number = :n",
        soci::use(n, "n"), soci::into(r.level), soci::into(r.comment), soci::into(at),
        soci::into(i.overall), soci::into(i.efficiency), soci::into(i.guide_accuracy),
        soci::into(i.convenience), soci::into(i.usability);
    if (!sql.got_data()) return std::optional<Rating>();
    r.case_number = n;
    r.at_ms = at;
    return std::optional<Rating>(std::move(r));
  });
}

}  // namespace tongban::approval
