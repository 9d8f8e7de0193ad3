// The delivery engine (see delivery.h). Horizontal → horizontal batches go column-wise
// through batch.h (native reads; PostgreSQL staged COPY + one guarded INSERT, bisected on a
// refusal; SQLite one kept upsert per row). The record path here serves the rest (MySQL and ODBC
// subscribers, vertical tables, web push, dead-letter retry): every record is validated
// against the subscriber's definition (type, length, required), which catches what SQLite would
// silently accept and what PostgreSQL would reject by aborting the whole transaction; then the
// versions the subscriber holds are read, and the newer records go in multi-row upserts guarded
// by dataversion, redone record by record under SAVEPOINTs only when the database refuses them.
#include "exchange/delivery.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <unordered_map>

#include "core/utf8.h"
#include "exchange/batch.h"
#include "exchange/ddl.h"
#include "exchange/sql_util.h"

namespace tongban::exchange {

namespace {

using nlohmann::json;
using sql_util::I64;
using sql_util::Text;

constexpr int kInChunk = 500;  // tongids per IN (…) list
constexpr size_t kMaxBindsPerStatement = 3000;
constexpr int64_t kMaxBackoffMs = 300'000;

// Control columns a subscriber row is written with (tong_seq is the subscriber's own).
constexpr std::string_view kWrittenControl[] = {"tongid",      "sync_status", "dataversion",
                                                "create_time", "tong_time",   "xk_lydw",
                                                "xk_lydwdm",   "areacode"};

std::string CastText(SqlDialect dialect, const std::string& quoted) {
  return dialect == SqlDialect::kMySql ? "CAST(" + quoted + " AS CHAR)"
                                       : "CAST(" + quoted + " AS TEXT)";
}

// A statement with any number of string binds (NULL through the indicator).
class DynamicStatement {
 public:
  void Add(std::optional<std::string> v) {
    inds_.push_back(v ? soci::i_ok : soci::i_null);
    values_.push_back(v ? std::move(*v) : std::string());
  }
  void Add(int64_t v) { Add(std::optional<std::string>(std::to_string(v))); }
  size_t size() const { return values_.size(); }
  std::optional<std::string> Value(size_t i) const {
    return inds_[i] == soci::i_null ? std::nullopt : std::optional<std::string>(values_[i]);
  }
  long long Execute(soci::session& sql, const std::string& text) {
    soci::statement st(sql);
    st.alloc();
    st.prepare(text);
    for (size_t i = 0; i < values_.size(); ++i) st.exchange(soci::use(values_[i], inds_[i]));
    st.define_and_bind();
    st.execute(true);
    return st.get_affected_rows();
  }
  // Rows of a SELECT.
  soci::rowset<soci::row> Query(soci::session& sql, const std::string& text) {
    soci::details::prepare_temp_type p = (sql.prepare << text);
    for (size_t i = 0; i < values_.size(); ++i) p, soci::use(values_[i], inds_[i]);
    return soci::rowset<soci::row>(p);
  }

 private:
  std::vector<std::string> values_;
  std::vector<soci::indicator> inds_;
};

std::string Placeholders(size_t first, size_t count) {
  std::string s = "(";
  for (size_t i = 0; i < count; ++i) s += (i ? ", :p" : ":p") + std::to_string(first + i);
  return s + ")";
}

size_t Utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool ValidDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return false;
  }
  int y = std::atoi(std::string(s.substr(0, 4)).c_str());
  int m = std::atoi(std::string(s.substr(5, 2)).c_str());
  int d = std::atoi(std::string(s.substr(8, 2)).c_str());
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  int max = kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0);
  return d <= max;
}

bool ValidDateTime(std::string_view s) {
  if (s.size() < 19 || !ValidDate(s.substr(0, 10)) || (s[10] != ' ' && s[10] != 'T')) return false;
  std::string_view t = s.substr(11);
  if (t[2] != ':' || t[5] != ':' || !AllDigits(t.substr(0, 2)) || !AllDigits(t.substr(3, 2)) ||
      !AllDigits(t.substr(6, 2))) {
    return false;
  }
  if (std::atoi(std::string(t.substr(0, 2)).c_str()) > 23 ||
      std::atoi(std::string(t.substr(3, 2)).c_str()) > 59 ||
      std::atoi(std::string(t.substr(6, 2)).c_str()) > 59) {
    return false;
  }
  std::string_view rest = t.substr(8);
  if (rest.empty()) return true;
  return rest[0] == '.' && rest.size() <= 7 && AllDigits(rest.substr(1));
}

// Compares a value with a filter term's value: numerically for number fields.
bool TermHolds(const Field& field, const std::optional<std::string>& value, const FilterTerm& t) {
  if (!value) return false;
  int cmp;
  if (field.type == FieldType::kInt || field.type == FieldType::kDecimal) {
    char* end1 = nullptr;
    char* end2 = nullptr;
    double a = std::strtod(value->c_str(), &end1);
    double b = std::strtod(t.value.c_str(), &end2);
    if (*end1 != '\0' || *end2 != '\0') return false;
    cmp = a < b ? -1 : a > b ? 1 : 0;
  } else {
    cmp = value->compare(t.value);
    cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
  }
  if (t.op == "=") return cmp == 0;
  if (t.op == "!=") return cmp != 0;
  if (t.op == "<") return cmp < 0;
  if (t.op == "<=") return cmp <= 0;
  if (t.op == ">") return cmp > 0;
  if (t.op == ">=") return cmp >= 0;
  return false;
}

// Whether `record` passes every term of `filter` (a term on a field the provider
// does not have fails).
bool PassesFilter(const Resource& provider, const std::vector<FilterTerm>& filter,
                  const Record& record) {
  for (const FilterTerm& term : filter) {
    const Field* f = provider.FindField(term.field);
    auto it = record.values.find(term.field);
    if (f == nullptr || !TermHolds(*f, it == record.values.end() ? std::nullopt : it->second, term)) {
      return false;
    }
  }
  return true;
}

std::string CheckControl(const std::string& tongid, char sync_status, int64_t dataversion,
                         const std::string& xk_lydw, const std::string& xk_lydwdm,
                         const std::string& areacode) {
  if (tongid.empty() || tongid.size() > 64) return "tongid must be 1..64 characters";
  if (sync_status != 'I' && sync_status != 'U' && sync_status != 'D') {
    return "sync_status must be I, U or D";
  }
  if (dataversion < 1) return "dataversion must be at least 1";
  if (xk_lydw.size() > 200 || xk_lydwdm.size() > 18 || areacode.size() > 12) {
    return "xk_lydw, xk_lydwdm or areacode too long";
  }
  return "";
}

std::string CheckControl(const Record& r) {
  return CheckControl(r.tongid, r.sync_status, r.dataversion, r.xk_lydw, r.xk_lydwdm, r.areacode);
}

// The record key of the vertical model: the key fields' values joined by '|', or the tongid.
std::string RecordKey(const Resource& target, const Record& r) {
  std::string key;
  bool any = false;
  for (const Field& f : target.fields) {
    if (!f.key) continue;
    auto it = r.values.find(f.code);
    if (any) key += "|";
    any = true;
    if (it != r.values.end() && it->second) key += *it->second;
  }
  return any ? key : r.tongid;
}

bool IsUnavailable(const std::exception& e) {
  return SqlStore::ToError(e).code == errc::kUnavailable;
}

// A value in COPY's text format: \N for NULL; backslash, tab, newline and CR escaped.
void AppendCopyValue(std::string& out, const std::optional<std::string>& v) {
  if (!v) {
    out += "\\N";
    return;
  }
  for (char c : *v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

}  // namespace

// ---- JSON forms ----

std::string RecordToJson(const Record& r) {
  json fields = json::object();
  for (const auto& [k, v] : r.values) fields[k] = v ? json(*v) : json(nullptr);
  json j = {{"tongid", r.tongid},
            {"sync_status", std::string(1, r.sync_status)},
            {"dataversion", r.dataversion},
            {"create_time", r.create_time},
            {"xk_lydw", r.xk_lydw},
            {"xk_lydwdm", r.xk_lydwdm},
            {"areacode", r.areacode},
            {"seq", r.seq},
            {"fields", fields}};
  // Rows come from departments' databases and may hold bytes that are not
  // UTF-8 (old GBK text): replaced (U+FFFD) here, never thrown on — a throw
  // on a background thread ended the whole process (review12b).
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

Result<Record> RecordFromValue(const json& j) {
  if (!j.is_object()) return Error::InvalidArgument("a record must be a JSON object");
  Record r;
  auto str = [&](const char* k) -> std::string {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
  };
  auto num = [&](const char* k, int64_t dflt) -> Result<int64_t> {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return dflt;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_string() && AllDigits(it->get<std::string>())) {
      return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
    }
    return Error::InvalidArgument(std::string(k) + " must be an integer");
  };
  r.tongid = str("tongid");
  std::string status = str("sync_status");
  r.sync_status = status.empty() ? 'I' : status[0];
  if (status.size() > 1) return Error::InvalidArgument("sync_status must be I, U or D");
  auto dv = num("dataversion", 1);
  if (!dv.ok()) return dv.error();
  r.dataversion = *dv;
  auto ct = num("create_time", 0);
  if (!ct.ok()) return ct.error();
  r.create_time = *ct;
  auto seq = num("seq", 0);
  if (!seq.ok()) return seq.error();
  r.seq = *seq;
  r.xk_lydw = str("xk_lydw");
  r.xk_lydwdm = str("xk_lydwdm");
  r.areacode = str("areacode");
  auto scalar = [](const json& v) -> std::optional<std::string> {
    if (v.is_null()) return std::nullopt;
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  };
  if (auto f = j.find("fields"); f != j.end()) {
    if (!f->is_object()) return Error::InvalidArgument("fields must be an object");
    for (auto it = f->begin(); it != f->end(); ++it) r.values[it.key()] = scalar(it.value());
  } else if (auto v = j.find("values"); v != j.end()) {  // vertical shape
    if (!v->is_array()) return Error::InvalidArgument("values must be an array");
    for (const json& fv : *v) {
      if (!fv.is_object() || !fv.contains("field_code") || !fv["field_code"].is_string()) {
        return Error::InvalidArgument("each value needs a field_code");
      }
      r.values[fv["field_code"].get<std::string>()] =
          fv.contains("field_value") ? scalar(fv["field_value"]) : std::nullopt;
    }
  } else {
    return Error::InvalidArgument(
        "a record needs \"fields\" (horizontal) or \"values\" (vertical)");
  }
  return r;
}

}  // namespace

Result<Record> RecordFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error::InvalidArgument("record is not valid JSON");
  return RecordFromValue(j);
}

std::string CheckValue(const Field& f, const std::optional<std::string>& value) {
  return CheckValueAt(f, value ? &*value : nullptr);
}

namespace {

// How a refused value looks without showing it (it may be an ID number, a name): its length in
// characters, for the reason of a dead letter, a log line or the console.
std::string Shape(std::string_view v) {
  return " (" + std::to_string(Utf8Length(v)) + " characters)";
}

}  // namespace

// Reasons name the field and what was expected, never the value (see Shape).
std::string CheckValueAt(const Field& f, const std::string* value) {
  if (value == nullptr || value->empty()) {
    if (f.required || f.key) return "field " + f.code + " is required";
    if (!value) return "";
  }
  const std::string& v = *value;
  switch (f.type) {
    case FieldType::kString:
      if (!IsValidUtf8(v)) {
        return "field " + f.code + " is not UTF-8 text (" + std::to_string(v.size()) + " bytes)";
      }
      if (f.length > 0 && Utf8Length(v) > static_cast<size_t>(f.length)) {
        return "field " + f.code + " is longer than " + std::to_string(f.length) +
               " characters (" + std::to_string(Utf8Length(v)) + ")";
      }
      return "";
    case FieldType::kInt: {
      std::string_view d = v;
      if (!d.empty() && d[0] == '-') d.remove_prefix(1);
      if (v.empty()) return "";
      if (!AllDigits(d) || d.size() > 18) {
        return "field " + f.code + " is not an integer of at most 18 digits" + Shape(v);
      }
      return "";
    }
    case FieldType::kDecimal: {
      if (v.empty()) return "";
      std::string_view d = v;
      if (d[0] == '-') d.remove_prefix(1);
      size_t dot = d.find('.');
      std::string_view whole = d.substr(0, dot);
      std::string_view frac = dot == std::string_view::npos ? "" : d.substr(dot + 1);
      if (!AllDigits(whole) || (dot != std::string_view::npos && !AllDigits(frac))) {
        return "field " + f.code + " is not a decimal" + Shape(v);
      }
      int precision = f.length == 0 ? 18 : f.length;
      int scale = f.length == 0 && f.scale == 0 ? 2 : f.scale;
      std::string_view significant = whole;
      while (significant.size() > 1 && significant[0] == '0') significant.remove_prefix(1);
      if (static_cast<int>(significant.size()) > precision - scale) {
        return "field " + f.code + " has too many digits for DECIMAL(" + std::to_string(precision) +
               "," + std::to_string(scale) + "): " + std::to_string(significant.size()) +
               " before the point, at most " + std::to_string(precision - scale);
      }
      return "";
    }
    case FieldType::kDate:
      if (v.empty() || ValidDate(v)) return "";
      return "field " + f.code + " is not a date (YYYY-MM-DD)" + Shape(v);
    case FieldType::kDateTime:
      if (v.empty() || ValidDateTime(v)) return "";
      return "field " + f.code + " is not a date-time (YYYY-MM-DD HH:MM:SS)" + Shape(v);
  }
  return "";
}

// ---- NodePool ----

NodePool::NodePool(ExchangeMeta& meta, size_t sessions, int64_t retired_grace_ms)
    : meta_(meta), sessions_(sessions), retired_grace_ms_(retired_grace_ms) {}
NodePool::~NodePool() = default;

Result<SqlStore*> NodePool::Get(int64_t node_id) {
  auto store = Acquire(node_id);
  if (!store.ok()) return store.error();
  return store->get();
}

Result<std::shared_ptr<SqlStore>> NodePool::Acquire(int64_t node_id) {
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(node_id);
    if (it != open_.end()) return it->second;
  }
  auto url = meta_.NodeUrl(node_id);
  if (!url.ok()) return url.error();
  auto opened = SqlStore::Open(*url, sessions_);
  if (!opened.ok()) {
    Record(node_id, opened.error());
    return opened.error();
  }
  std::shared_ptr<SqlStore> store = std::move(opened).value();
  std::lock_guard lock(mu_);
  auto [it, inserted] = open_.emplace(node_id, store);
  return it->second;
}

void NodePool::Drop(int64_t node_id) {
  std::lock_guard lock(mu_);
  auto it = open_.find(node_id);
  if (it == open_.end()) return;
  // Another thread may still hold it: Acquire's holders keep it alive by their reference;
  // a pointer from Get is used within one call, so a dropped store lives at least
  // kRetiredGraceMs. Stores nobody holds any more after that are freed (their connections
  // closed), so a node that flaps does not pile up dead connections.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  retired_.push_back({std::move(it->second), now});
  open_.erase(it);
  std::erase_if(retired_, [&](const Retired& r) {
    return r.store.use_count() == 1 && now - r.since_ms >= retired_grace_ms_;
  });
}

size_t NodePool::RetiredCount() {
  std::lock_guard lock(mu_);
  return retired_.size();
}

void NodePool::Record(int64_t node_id, const Status& outcome) {
  std::lock_guard lock(mu_);
  Health& h = health_[node_id];
  h.ok = outcome.ok();
  h.last_error = outcome.ok() ? "" : outcome.error().message;
  h.checked_ms = meta_.clock().NowMillis();
}

std::map<int64_t, NodePool::Health> NodePool::HealthSnapshot() {
  std::lock_guard lock(mu_);
  return health_;
}

// ---- DeliveryEngine ----

DeliveryEngine::DeliveryEngine(ExchangeMeta& meta, NodePool& nodes, Clock& clock)
    : meta_(meta), nodes_(nodes), clock_(clock) {}

Result<std::vector<Record>> DeliveryEngine::ReadChanges(SqlStore& node, const Resource& r,
                                                        int64_t after, int limit, int* rows_read,
                                                        int64_t* last_seq) {
  const SqlDialect d = node.dialect();
  const std::string t = QuoteIdent(d, r.code);
  *rows_read = 0;
  *last_seq = after;
  return node.WithSession([&](soci::session& sql) -> Result<std::vector<Record>> {
    TB_RETURN_IF_ERROR(CheckTable(sql, d, r));
    std::vector<Record> out;
    long long a = after;
    long long lim = limit;
    auto read_control = [](const soci::row& row, Record& rec) {
      rec.tongid = Text(row, "tongid");
      std::string s = Text(row, "sync_status");
      rec.sync_status = s.empty() ? 'I' : s[0];
      rec.dataversion = I64(row, "dataversion");
      rec.create_time = I64(row, "create_time");
      rec.xk_lydw = Text(row, "xk_lydw");
      rec.xk_lydwdm = Text(row, "xk_lydwdm");
      rec.areacode = Text(row, "areacode");
      rec.seq = I64(row, "tong_seq");
    };
    const std::string control =
        "tong_seq, tongid, sync_status, dataversion, create_time, xk_lydw, xk_lydwdm, areacode";
    if (r.model == TableModel::kHorizontal) {
      std::string select = "SELECT " + control;
      for (const Field& f : r.fields) select += ", " + CastText(d, QuoteIdent(d, f.code));
      select += " FROM " + t + " WHERE tong_seq > :a ORDER BY tong_seq LIMIT :l";
      soci::rowset<soci::row> rows = (sql.prepare << select, soci::use(a), soci::use(lim));
      for (const soci::row& row : rows) {
        Record rec;
        read_control(row, rec);
        for (size_t i = 0; i < r.fields.size(); ++i) {
          size_t col = 8 + i;
          rec.values[r.fields[i].code] =
              sql_util::IsNull(row, col) ? std::nullopt : std::optional(Text(row, col));
        }
        *last_seq = rec.seq;
        ++*rows_read;
        out.push_back(std::move(rec));
      }
      return out;
    }
    // Vertical: the changed field rows name the records; each record is then read whole.
    std::vector<std::string> tongids;
    std::set<std::string> seen;
    {
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT tong_seq, tongid FROM " + t +
                              " WHERE tong_seq > :a ORDER BY tong_seq LIMIT :l",
           soci::use(a), soci::use(lim));
      for (const soci::row& row : rows) {
        ++*rows_read;
        *last_seq = I64(row, "tong_seq");
        std::string id = Text(row, "tongid");
        if (seen.insert(id).second) tongids.push_back(id);
      }
    }
    std::map<std::string, Record> records;
    for (size_t start = 0; start < tongids.size(); start += kInChunk) {
      size_t n = std::min<size_t>(kInChunk, tongids.size() - start);
      DynamicStatement q;
      for (size_t i = 0; i < n; ++i) q.Add(std::optional(tongids[start + i]));
      soci::rowset<soci::row> rows =
          q.Query(sql, "SELECT " + control + ", field_code, field_value FROM " + t +
                           " WHERE tongid IN " + Placeholders(0, n) + " ORDER BY tong_seq");
      for (const soci::row& row : rows) {
        Record part;
        read_control(row, part);
        Record& rec = records[part.tongid];
        int64_t version = std::max(rec.dataversion, part.dataversion);
        if (part.seq >= rec.seq) {  // the latest row carries the record's status
          std::map<std::string, std::optional<std::string>> values = std::move(rec.values);
          rec = part;
          rec.values = std::move(values);
        }
        rec.dataversion = version;
        rec.values[Text(row, "field_code")] =
            sql_util::IsNull(row, 9) ? std::nullopt : std::optional(Text(row, 9));
      }
    }
    for (const std::string& id : tongids) {
      auto it = records.find(id);
      if (it != records.end()) out.push_back(std::move(it->second));
    }
    std::sort(out.begin(), out.end(),
              [](const Record& x, const Record& y) { return x.seq < y.seq; });
    return out;
  });
}

Result<ApplyReport> DeliveryEngine::Apply(SqlStore& node, const Resource& target,
                                          const std::vector<Record>& records) {
  ApplyReport report;
  const SqlDialect d = node.dialect();
  const std::string t = QuoteIdent(d, target.code);
  const int64_t now = clock_.NowMillis();

  // Validate first, then keep one record per tongid: the highest version (latest seq on a tie).
  std::map<std::string, size_t> best;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    std::string why = CheckControl(r);
    for (const Field& f : target.fields) {
      if (!why.empty()) break;
      auto it = r.values.find(f.code);
      why = CheckValue(f, it == r.values.end() ? std::nullopt : it->second);
    }
    if (!why.empty()) {
      report.failures.push_back({i, why});
      continue;
    }
    auto [it, inserted] = best.emplace(r.tongid, i);
    if (!inserted) {
      const Record& other = records[it->second];
      if (r.dataversion > other.dataversion ||
          (r.dataversion == other.dataversion && r.seq >= other.seq)) {
        it->second = i;
      }
      ++report.unchanged;
    }
  }
  if (best.empty()) return report;

  std::vector<std::string> columns;
  if (target.model == TableModel::kHorizontal) {
    for (const Field& f : target.fields) columns.push_back(f.code);
  }
  for (std::string_view c : kWrittenControl) columns.emplace_back(c);

  auto bind_record = [&](DynamicStatement& st, const Record& r) {
    if (target.model == TableModel::kHorizontal) {
      for (const Field& f : target.fields) {
        auto it = r.values.find(f.code);
        std::optional<std::string> v = it == r.values.end() ? std::nullopt : it->second;
        if (v && v->empty() && f.type != FieldType::kString) v.reset();
        st.Add(std::move(v));
      }
    }
    st.Add(std::optional(r.tongid));
    st.Add(std::optional(std::string(1, r.sync_status)));
    st.Add(r.dataversion);
    st.Add(r.create_time);
    st.Add(now);
    st.Add(std::optional(r.xk_lydw));
    st.Add(std::optional(r.xk_lydwdm));
    st.Add(std::optional(r.areacode));
  };
  std::string column_list;
  for (size_t i = 0; i < columns.size(); ++i) {
    column_list += (i ? ", " : "") + QuoteIdent(d, columns[i]);
  }
  const std::string insert_head = "INSERT INTO " + t + " (" + column_list + ") VALUES ";
  // PostgreSQL: a temporary table shaped like the target (without its triggers and unique
  // constraint), emptied at every commit, created once per connection.
  auto PgStage = [&](soci::session& sql) {
    std::string name = StagingTableName(target.code);
    const std::string quoted = QuoteIdent(d, name);
    sql << "CREATE TEMP TABLE IF NOT EXISTS " + quoted + " (LIKE " + t +
               ") ON COMMIT DELETE ROWS";
    sql << "TRUNCATE " + quoted;
    return quoted;
  };
  std::string upsert_tail;
  if (d == SqlDialect::kMySql) {
    upsert_tail = " ON DUPLICATE KEY UPDATE ";
    for (const std::string& c : columns) {
      if (c == "tongid" || c == "dataversion") continue;
      std::string q = QuoteIdent(d, c);
      upsert_tail += q + " = IF(VALUES(dataversion) > dataversion, VALUES(" + q + "), " + q + "), ";
    }
    // Last, since MySQL assigns left to right and the conditions above read the old version.
    upsert_tail +=
        "dataversion = IF(VALUES(dataversion) > dataversion, VALUES(dataversion), "
        "dataversion)";
  } else {
    upsert_tail = " ON CONFLICT (tongid) DO UPDATE SET ";
    bool first = true;
    for (const std::string& c : columns) {
      if (c == "tongid") continue;
      upsert_tail += (first ? "" : ", ") + QuoteIdent(d, c) + " = excluded." + QuoteIdent(d, c);
      first = false;
    }
    upsert_tail += " WHERE " + t + ".dataversion < excluded.dataversion";
  }

  auto apply = node.WithTransaction([&](soci::session& sql) -> Result<ApplyReport> {
    ApplyReport out = report;
    // The records newer than what the subscriber holds (its versions read in chunks of
    // tongids); the others count as unchanged.
    auto newer_than_held = [&]() {
      std::map<std::string, int64_t> held;
      std::vector<std::string> ids;
      for (const auto& [id, i] : best) ids.push_back(id);
      for (size_t start = 0; start < ids.size(); start += kInChunk) {
        size_t n = std::min<size_t>(kInChunk, ids.size() - start);
        DynamicStatement q;
        for (size_t i = 0; i < n; ++i) q.Add(std::optional(ids[start + i]));
        soci::rowset<soci::row> rows =
            q.Query(sql, "SELECT tongid, MAX(dataversion) AS v FROM " + t + " WHERE tongid IN " +
                             Placeholders(0, n) + " GROUP BY tongid");
        for (const soci::row& row : rows) held[Text(row, "tongid")] = I64(row, "v");
      }
      std::vector<size_t> newer;
      for (const auto& [id, i] : best) {
        auto h = held.find(id);
        if (h != held.end() && h->second >= records[i].dataversion) {
          ++out.unchanged;
        } else {
          newer.push_back(i);
        }
      }
      std::sort(newer.begin(), newer.end());
      return newer;
    };
    auto apply_one = [&](const Record& r) {
      if (target.model == TableModel::kHorizontal) {
        DynamicStatement st;
        bind_record(st, r);
        st.Execute(sql, insert_head + Placeholders(0, st.size()) + upsert_tail);
        return;
      }
      // Vertical: the record's rows are replaced by one row per field of the definition.
      DynamicStatement del;
      del.Add(std::optional(r.tongid));
      del.Execute(sql, "DELETE FROM " + t + " WHERE tongid = :p0");
      const std::string key = RecordKey(target, r);
      for (const Field& f : target.fields) {
        auto it = r.values.find(f.code);
        DynamicStatement st;
        st.Add(std::optional(r.tongid));
        st.Add(std::optional(target.code));
        st.Add(std::optional(key));
        st.Add(std::optional(f.code));
        st.Add(it == r.values.end() ? std::nullopt : it->second);
        st.Add(std::optional(std::string(1, r.sync_status)));
        st.Add(r.dataversion);
        st.Add(r.create_time);
        st.Add(now);
        st.Add(std::optional(r.xk_lydw));
        st.Add(std::optional(r.xk_lydwdm));
        st.Add(std::optional(r.areacode));
        st.Execute(sql, "INSERT INTO " + t +
                            " (tongid, resource_code, record_key, field_code, field_value, "
                            "sync_status, dataversion, create_time, tong_time, xk_lydw, "
                            "xk_lydwdm, areacode) VALUES " +
                            Placeholders(0, 12));
      }
    };
    auto one_by_one = [&](const std::vector<size_t>& which) {
      for (size_t i : which) {
        sql << "SAVEPOINT tb_row";
        try {
          apply_one(records[i]);
          sql << "RELEASE SAVEPOINT tb_row";
          ++out.applied;
        } catch (const std::exception& e) {
          if (IsUnavailable(e)) throw;
          sql << "ROLLBACK TO SAVEPOINT tb_row";
          sql << "RELEASE SAVEPOINT tb_row";
          out.failures.push_back({i, SqlStore::ToError(e).message});
        }
      }
    };
    if (target.model == TableModel::kHorizontal && d == SqlDialect::kPostgres) {
      // COPY every candidate into the staging table; the join counts those the subscriber
      // already holds in that version or newer; one INSERT … SELECT moves the rest.
      std::vector<size_t> all;
      for (const auto& [id, i] : best) all.push_back(i);
      std::sort(all.begin(), all.end());
      sql << "SAVEPOINT tb_batch";
      try {
        std::string data;
        data.reserve(all.size() * columns.size() * 12);
        for (size_t i : all) {
          DynamicStatement row;
          bind_record(row, records[i]);
          for (size_t c = 0; c < row.size(); ++c) {
            if (c) data += '\t';
            AppendCopyValue(data, row.Value(c));
          }
          data += '\n';
        }
        const std::string stage = PgStage(sql);
        PgCopyIn(sql, "COPY " + stage + " (" + column_list + ") FROM STDIN", data);
        long long held = 0;
        sql << "SELECT COUNT(*) FROM " + stage + " s JOIN " + t +
                   " x ON x.tongid = s.tongid AND x.dataversion >= s.dataversion",
            soci::into(held);
        sql << "INSERT INTO " + t + " (" + column_list + ") SELECT " + column_list + " FROM " +
                   stage + upsert_tail;
        sql << "RELEASE SAVEPOINT tb_batch";
        out.unchanged += static_cast<int>(held);
        out.applied += static_cast<int>(all.size()) - static_cast<int>(held);
        return out;
      } catch (const std::exception& e) {
        if (IsUnavailable(e)) throw;
        sql << "ROLLBACK TO SAVEPOINT tb_batch";
        sql << "RELEASE SAVEPOINT tb_batch";
        one_by_one(newer_than_held());  // a constraint the definition cannot see
        return out;
      }
    }
    const std::vector<size_t> newer = newer_than_held();
    if (newer.empty()) return out;
    if (target.model == TableModel::kVertical) {
      one_by_one(newer);
      return out;
    }
    sql << "SAVEPOINT tb_batch";
    try {
      const size_t per_row = columns.size();
      const size_t rows_per_statement = std::max<size_t>(1, kMaxBindsPerStatement / per_row);
      for (size_t start = 0; start < newer.size(); start += rows_per_statement) {
        size_t n = std::min(rows_per_statement, newer.size() - start);
        DynamicStatement st;
        std::string text = insert_head;
        for (size_t k = 0; k < n; ++k) {
          text += (k ? ", " : "") + Placeholders(st.size(), per_row);
          bind_record(st, records[newer[start + k]]);
        }
        st.Execute(sql, text + upsert_tail);
      }
      sql << "RELEASE SAVEPOINT tb_batch";
      out.applied += static_cast<int>(newer.size());
    } catch (const std::exception& e) {
      if (IsUnavailable(e)) throw;
      sql << "ROLLBACK TO SAVEPOINT tb_batch";
      sql << "RELEASE SAVEPOINT tb_batch";
      one_by_one(newer);
    }
    return out;
  });
  return apply;
}

Result<Progress> DeliveryEngine::LoadProgress(int64_t task_id, int64_t subscriber_id) {
  return meta_.store().WithSession([&](soci::session& sql) -> Result<Progress> {
    Progress p;
    p.task_id = task_id;
    p.subscriber_id = subscriber_id;
    long long t = task_id, s = subscriber_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_progress WHERE task_id = :t AND subscriber_id = :s",
         soci::use(t), soci::use(s));
    for (const soci::row& r : rows) {
      p.hwm = I64(r, "hwm");
      p.rows_applied = I64(r, "rows_applied");
      p.rows_dead = I64(r, "rows_dead");
      p.last_run_ms = I64(r, "last_run_ms");
      p.last_ok_ms = I64(r, "last_ok_ms");
      p.last_error = Text(r, "last_error");
      p.failures = I64(r, "failures");
      p.next_attempt_ms = I64(r, "next_attempt_ms");
    }
    return p;
  });
}

namespace {

// Creates the progress row when missing (inside a tongban transaction).
void EnsureProgress(soci::session& sql, long long task_id, long long subscriber_id) {
  int count = 0;
  sql << "SELECT COUNT(*) FROM exchange_progress WHERE task_id = :t AND subscriber_id = :s",
      soci::use(task_id), soci::use(subscriber_id), soci::into(count);
  if (count == 0) {
    sql << "INSERT INTO exchange_progress (task_id, subscriber_id, hwm, rows_applied, rows_dead, "
           "last_run_ms, last_ok_ms, last_error, failures, next_attempt_ms) VALUES (:t, :s, 0, 0, "
           "0, 0, 0, '', 0, 0)",
        soci::use(task_id), soci::use(subscriber_id);
  }
}

}  // namespace

Status DeliveryEngine::SaveFailure(int64_t task_id, int64_t subscriber_id, const Error& error) {
  return meta_.store().WithTransaction([&](soci::session& sql) -> Status {
    long long t = task_id, s = subscriber_id, now = clock_.NowMillis();
    EnsureProgress(sql, t, s);
    long long failures = 0;
    sql << "SELECT failures FROM exchange_progress WHERE task_id = :t AND subscriber_id = :s",
        soci::use(t), soci::use(s), soci::into(failures);
    int64_t backoff = std::min<int64_t>(kMaxBackoffMs, 1000LL << std::min<long long>(failures, 20));
    long long next = now + backoff;
    std::string message = error.message;
    sql << "UPDATE exchange_progress SET failures = failures + 1, last_error = :e, "
           "last_run_ms = :n, next_attempt_ms = :x WHERE task_id = :t AND subscriber_id = :s",
        soci::use(message), soci::use(now), soci::use(next), soci::use(t), soci::use(s);
    return Status::Ok();
  });
}

// The next batch of one task for one subscriber, read from the provider on its own thread
// while the engine applies the current batch and saves its progress (RunTask). It writes
// nothing; the engine takes it only when the next batch starts exactly where it was read from:
// the same provider definition, the saved mark equal to the one it read after (so the batch
// before committed on the subscriber and its progress was saved), the same size. Otherwise —
// the batch before failed, another node moved the mark, the definition changed — it is thrown
// away and that batch read again. A failed read ahead is read again on the engine's thread,
// whose error handling (health, backoff) then applies. Two batches' buffers take turns.
struct DeliveryEngine::ReadAhead {
  explicit ReadAhead(DeliveryEngine& engine) : engine(engine) {}
  ~ReadAhead() { Discard(); }

  static std::string Definition(const Resource& r) {
    std::string key = std::to_string(r.id) + "/" + std::to_string(r.node_id) + "/" +
                      std::to_string(r.updated_ms) + "/" + r.code;
    for (const Field& f : r.fields) {
      key += "/" + f.code + ":" + std::to_string(static_cast<int>(f.type)) + ":" +
             std::to_string(f.length) + ":" + std::to_string(f.scale) + (f.required ? "r" : "") +
             (f.key ? "k" : "");
    }
    return key;
  }

  // Starts reading the rows after `after` (the current batch's last seq).
  void Start(std::shared_ptr<SqlStore> node, const Resource& provider, int64_t after, int size) {
    Discard();
    definition = Definition(provider);
    from = after;
    limit = size;
    pending = std::async(std::launch::async, [node = std::move(node), provider, after, size,
                                              fault = engine.read_ahead_fault_,
                                              buffers = std::move(spare)]() mutable
                         -> Result<RowBatch> {
      if (fault) {
        Status injected = fault(after);
        if (!injected.ok()) return injected.error();
      }
      return ReadRowBatch(*node, provider, after, size, std::move(buffers));
    });
    spare = RowBatch{};
  }

  // The batch read ahead when it is the one wanted now; nullopt otherwise (read it again).
  std::optional<RowBatch> Take(const Resource& provider, int64_t hwm, int size) {
    if (!pending.valid()) return std::nullopt;
    Result<RowBatch> read = pending.get();
    if (!read.ok()) {
      ++engine.ahead_failed_;
      return std::nullopt;
    }
    if (from != hwm || limit != size || definition != Definition(provider)) {
      ++engine.ahead_discarded_;
      spare = std::move(read).value();
      return std::nullopt;
    }
    ++engine.ahead_used_;
    return std::move(read).value();
  }

  // Waits for a read in flight and throws it away.
  void Discard() {
    if (!pending.valid()) return;
    Result<RowBatch> read = pending.get();
    ++engine.ahead_discarded_;
    if (read.ok()) spare = std::move(read).value();
  }

  DeliveryEngine& engine;
  bool allowed = true;  // RunTask: another batch may follow this one
  std::string definition;
  int64_t from = 0;
  int limit = 0;
  std::future<Result<RowBatch>> pending;
  RowBatch spare;  // the buffers of the batch before, lent to the next read
};

DeliveryEngine::ReadAheadCounts DeliveryEngine::read_ahead_counts() const {
  return {ahead_used_.load(), ahead_discarded_.load(), ahead_failed_.load()};
}

Result<BatchReport> DeliveryEngine::DeliverBatch(const Task& task, const Subscriber& sub,
                                                 bool save_progress) {
  return Deliver(task, sub, save_progress, nullptr);
}

Result<BatchReport> DeliveryEngine::Deliver(const Task& task, const Subscriber& sub,
                                            bool save_progress, ReadAhead* ahead) {
  BatchReport report;
  report.subscriber_id = sub.id;
  auto fail = [&](const Error& e, int64_t node_id) -> Error {
    if (node_id != 0) {
      nodes_.Record(node_id, e);
      if (e.code == errc::kUnavailable) nodes_.Drop(node_id);
    }
    Status saved = SaveFailure(task.id, sub.id, e);
    if (!saved.ok())
      spdlog::warn("exchange: cannot record a failure of task {}: {}", task.code,
                   saved.error().message);
    return e;
  };
  auto provider = meta_.GetResource(task.provider_resource_id);
  if (!provider.ok()) return fail(provider.error(), 0);
  auto target = meta_.GetResource(sub.resource_id);
  if (!target.ok()) return fail(target.error(), 0);
  auto progress = LoadProgress(task.id, sub.id);
  if (!progress.ok()) return progress.error();
  report.hwm_before = report.hwm_after = progress->hwm;

  auto source = nodes_.Acquire(provider->node_id);
  if (!source.ok()) return fail(source.error(), provider->node_id);
  int64_t last_seq = progress->hwm;
  // Rows refused by the subscriber, as the provider's records, with the reason.
  std::vector<std::pair<Record, std::string>> dead;
  auto subscriber_error = [&](const Error& e) {
    return fail(Error{e.code, "subscriber " + target->code + ": " + e.message}, target->node_id);
  };
  // The source field of each subscriber field: the same code, or the mapping's.
  auto source_code = [&](const Field& f) {
    if (sub.mapping.empty()) return f.code;
    std::string from;
    for (const auto& [p, s] : sub.mapping) {
      if (s == f.code) from = p;
    }
    return from;
  };
  auto check_target = [&](SqlStore& dest) {
    return dest.WithSession(
        [&](soci::session& sql) { return CheckTable(sql, dest.dialect(), *target); });
  };

  if (provider->model == TableModel::kHorizontal && target->model == TableModel::kHorizontal) {
    // Column-wise: no record (and no map of values) per row unless the row fails.
    std::optional<RowBatch> ahead_batch;
    if (ahead != nullptr) ahead_batch = ahead->Take(*provider, progress->hwm, task.batch_size);
    Result<RowBatch> batch =
        ahead_batch ? Result<RowBatch>(std::move(*ahead_batch))
                    : ReadRowBatch(**source, *provider, progress->hwm, task.batch_size,
                                   ahead != nullptr ? std::move(ahead->spare) : RowBatch{});
    if (!batch.ok()) {
      return fail(
          Error{batch.error().code, "provider " + provider->code + ": " + batch.error().message},
          provider->node_id);
    }
    nodes_.Record(provider->node_id, Status::Ok());
    const RowBatch& b = *batch;
    // However this batch ends, its buffers go to the read after next.
    struct GiveBack {
      ReadAhead* ahead;
      Result<RowBatch>& batch;
      ~GiveBack() {
        if (ahead != nullptr) ahead->spare = std::move(batch).value();
      }
    } give_back{ahead, batch};
    const size_t n = b.size();
    report.read = static_cast<int>(n);
    report.more = report.read >= task.batch_size;
    if (n > 0) last_seq = b.seq.back();
    // The next batch is read while this one is filtered, applied and its progress saved.
    if (ahead != nullptr && ahead->allowed && report.more) {
      ahead->Start(*source, *provider, last_seq, task.batch_size);
    }

    std::vector<int> source_col;
    for (const Field& f : target->fields) {
      const std::string from = source_code(f);
      int col = -1;
      for (size_t i = 0; i < provider->fields.size(); ++i) {
        if (provider->fields[i].code == from) col = static_cast<int>(i);
      }
      source_col.push_back(col);
    }
    std::vector<std::pair<const Field*, int>> filter;
    for (const FilterTerm& term : task.filter) {
      int col = -1;
      for (size_t i = 0; i < provider->fields.size(); ++i) {
        if (provider->fields[i].code == term.field) col = static_cast<int>(i);
      }
      filter.push_back({col < 0 ? nullptr : &provider->fields[static_cast<size_t>(col)], col});
    }
    // Filter, validate against the subscriber's definition, keep one row per tongid (the
    // highest version; the latest seq on a tie).
    std::unordered_map<std::string_view, size_t> best;
    best.reserve(n);
    int unchanged = 0;
    for (size_t r = 0; r < n; ++r) {
      bool keep = true;
      for (size_t i = 0; keep && i < filter.size(); ++i) {
        const auto& [field, col] = filter[i];
        const std::string* v = col < 0 ? nullptr : b.Cell(r, static_cast<size_t>(col));
        keep = field != nullptr &&
               TermHolds(*field, v == nullptr ? std::nullopt : std::optional(*v), task.filter[i]);
      }
      if (!keep) {
        ++report.filtered;
        continue;
      }
      std::string why = CheckControl(b.tongid[r], b.sync_status[r], b.dataversion[r],
                                     b.xk_lydw[r], b.xk_lydwdm[r], b.areacode[r]);
      for (size_t j = 0; why.empty() && j < target->fields.size(); ++j) {
        const int col = source_col[j];
        why = CheckValueAt(target->fields[j],
                           col < 0 ? nullptr : b.Cell(r, static_cast<size_t>(col)));
      }
      if (!why.empty()) {
        dead.emplace_back(b.ToRecord(r, provider->fields), std::move(why));
        continue;
      }
      auto [it, inserted] = best.emplace(b.tongid[r], r);
      if (!inserted) {
        const size_t o = it->second;
        if (b.dataversion[r] > b.dataversion[o] ||
            (b.dataversion[r] == b.dataversion[o] && b.seq[r] >= b.seq[o])) {
          it->second = r;
        }
        ++unchanged;
      }
    }
    std::vector<size_t> rows;
    rows.reserve(best.size());
    for (const auto& [id, r] : best) rows.push_back(r);
    std::sort(rows.begin(), rows.end());
    report.unchanged = unchanged;
    if (!rows.empty()) {
      auto dest = nodes_.Acquire(target->node_id);
      if (!dest.ok()) return fail(dest.error(), target->node_id);
      Status fits = check_target(**dest);
      if (!fits.ok()) return subscriber_error(fits.error());
      RowApply applied;
      if (FastApplySupported(**dest)) {
        auto done = ApplyRowBatch(**dest, *target, b, source_col, rows, clock_.NowMillis());
        if (!done.ok()) return subscriber_error(done.error());
        applied = std::move(done).value();
      } else {
        applied.fallback = true;
      }
      if (applied.fallback) {  // the record path (MySQL, ODBC, or a staging table that failed)
        std::vector<Record> mapped;
        mapped.reserve(rows.size());
        for (size_t r : rows) {
          Record m = b.ToRecord(r, {});
          for (size_t j = 0; j < target->fields.size(); ++j) {
            const int col = source_col[j];
            const std::string* v = col < 0 ? nullptr : b.Cell(r, static_cast<size_t>(col));
            m.values[target->fields[j].code] =
                v == nullptr ? std::nullopt : std::optional<std::string>(*v);
          }
          mapped.push_back(std::move(m));
        }
        auto done = Apply(**dest, *target, mapped);
        if (!done.ok()) return subscriber_error(done.error());
        applied = RowApply{};
        applied.applied = done->applied;
        applied.unchanged = done->unchanged;
        for (const ApplyReport::Failure& f : done->failures) {
          applied.failures.push_back({rows[f.index], f.reason});
        }
      }
      nodes_.Record(target->node_id, Status::Ok());
      report.applied = applied.applied;
      report.unchanged += applied.unchanged;
      for (auto& [r, why] : applied.failures) {
        dead.emplace_back(b.ToRecord(r, provider->fields), std::move(why));
      }
    }
  } else {
    int rows_read = 0;
    auto changes =
        ReadChanges(**source, *provider, progress->hwm, task.batch_size, &rows_read, &last_seq);
    if (!changes.ok()) {
      return fail(Error{changes.error().code,
                        "provider " + provider->code + ": " + changes.error().message},
                  provider->node_id);
    }
    nodes_.Record(provider->node_id, Status::Ok());
    report.read = rows_read;
    report.more = rows_read >= task.batch_size;

    // Filter, then map provider fields onto the subscriber's.
    std::vector<Record> mapped;
    std::vector<const Record*> origin;
    for (const Record& r : *changes) {
      if (!PassesFilter(*provider, task.filter, r)) {
        ++report.filtered;
        continue;
      }
      Record m = r;
      m.values.clear();
      for (const Field& f : target->fields) {
        auto it = r.values.find(source_code(f));
        m.values[f.code] = it == r.values.end() ? std::nullopt : it->second;
      }
      mapped.push_back(std::move(m));
      origin.push_back(&r);
    }
    if (!mapped.empty()) {
      auto dest = nodes_.Acquire(target->node_id);
      if (!dest.ok()) return fail(dest.error(), target->node_id);
      Status fits = check_target(**dest);
      if (!fits.ok()) return subscriber_error(fits.error());
      auto done = Apply(**dest, *target, mapped);
      if (!done.ok()) return subscriber_error(done.error());
      nodes_.Record(target->node_id, Status::Ok());
      report.applied = done->applied;
      report.unchanged = done->unchanged;
      for (const ApplyReport::Failure& f : done->failures) {
        dead.emplace_back(*origin[f.index], f.reason);
      }
    }
  }
  report.dead = static_cast<int>(dead.size());
  report.hwm_after = last_seq;
  if (!save_progress) return report;

  // After the subscriber's commit: dead letters and the high-water mark, together.
  Status saved = meta_.store().WithTransaction([&](soci::session& sql) -> Status {
    long long t = task.id, s = sub.id, now = clock_.NowMillis(), hwm = last_seq;
    EnsureProgress(sql, t, s);
    for (const auto& [r, why] : dead) {
      std::string payload = RecordToJson(r), reason = why.substr(0, 2000);
      long long version = r.dataversion;
      int count = 0;
      sql << "SELECT COUNT(*) FROM exchange_dead_letters WHERE task_id = :t AND subscriber_id = "
             ":s AND tongid = :g AND dataversion = :v",
          soci::use(t), soci::use(s), soci::use(r.tongid), soci::use(version), soci::into(count);
      if (count > 0) continue;  // a replayed batch: the letter is already there
      sql << "INSERT INTO exchange_dead_letters (task_id, subscriber_id, tongid, dataversion, "
             "payload, reason, state, attempts, created_ms, updated_ms) VALUES (:t, :s, :g, :v, "
             ":p, :r, 'open', 0, :c, :u)",
          soci::use(t), soci::use(s), soci::use(r.tongid), soci::use(version), soci::use(payload),
          soci::use(reason), soci::use(now), soci::use(now);
    }
    long long applied_n = report.applied, dead_n = report.dead;
    sql << "UPDATE exchange_progress SET hwm = CASE WHEN hwm < :h THEN :h2 ELSE hwm END, "
           "rows_applied = rows_applied + :a, rows_dead = rows_dead + :d, last_run_ms = :n, "
           "last_ok_ms = :n2, last_error = '', failures = 0, next_attempt_ms = 0 "
           "WHERE task_id = :t AND subscriber_id = :s",
        soci::use(hwm), soci::use(hwm), soci::use(applied_n), soci::use(dead_n), soci::use(now),
        soci::use(now), soci::use(t), soci::use(s);
    return Status::Ok();
  });
  if (!saved.ok()) return saved.error();
  return report;
}

Result<std::vector<BatchReport>> DeliveryEngine::RunTask(int64_t task_id, int max_batches,
                                                         const std::function<bool()>& keep_going,
                                                         bool force) {
  auto task = meta_.GetTask(task_id);
  if (!task.ok()) return task.error();
  if (task->approved_order_id == 0) {
    return Error::Conflict("task " + task->code + " has no approved work order");
  }
  if (!task->enabled) return Error::Conflict("task " + task->code + " is disabled");
  if (!task->InTerm(clock_.NowMillis())) {
    return Error::Conflict("task " + task->code +
                           "'s term has ended (its sharing grant expired or was revoked)");
  }
  std::vector<BatchReport> out;
  std::optional<Error> first_error;
  for (const Subscriber& sub : task->subscribers) {
    if (!force) {
      auto p = LoadProgress(task_id, sub.id);
      if (!p.ok()) return p.error();
      if (p->next_attempt_ms > clock_.NowMillis()) continue;  // backing off
    }
    ReadAhead ahead(*this);
    for (int i = 0; i < max_batches; ++i) {
      if (keep_going && !keep_going()) return out;
      // Disabled or its grant revoked since the run began (review16b: 19,000
      // rows reached a department after its grant was revoked): stop here,
      // with the batch in flight the last one delivered.
      auto runnable = meta_.TaskRunnable(task_id, task->approved_order_id);
      if (!runnable.ok()) return runnable.error();
      if (!*runnable) return out;
      ahead.allowed = i + 1 < max_batches;
      auto batch = Deliver(*task, sub, /*save_progress=*/true, &ahead);
      if (!batch.ok()) {
        if (!first_error) first_error = batch.error();
        break;
      }
      out.push_back(*batch);
      if (!batch->more) break;
    }
  }
  if (first_error) return *first_error;
  return out;
}

Result<std::vector<DeadLetter>> DeliveryEngine::ListDeadLetters(int64_t task_id,
                                                                const std::string& state) {
  return meta_.store().WithSession([&](soci::session& sql) -> Result<std::vector<DeadLetter>> {
    std::vector<DeadLetter> out;
    long long t = task_id;
    std::string s = state;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_dead_letters WHERE (:t = 0 OR task_id = :t2) "
                        "AND (:s = '' OR state = :s2) ORDER BY id LIMIT 1000",
         soci::use(t), soci::use(t), soci::use(s), soci::use(s));
    for (const soci::row& r : rows) {
      DeadLetter l;
      l.id = I64(r, "id");
      l.task_id = I64(r, "task_id");
      l.subscriber_id = I64(r, "subscriber_id");
      l.tongid = Text(r, "tongid");
      l.dataversion = I64(r, "dataversion");
      l.payload = Text(r, "payload");
      l.reason = Text(r, "reason");
      l.state = Text(r, "state");
      l.attempts = I64(r, "attempts");
      l.created_ms = I64(r, "created_ms");
      l.updated_ms = I64(r, "updated_ms");
      out.push_back(std::move(l));
    }
    return out;
  });
}

Result<DeliveryEngine::RetryReport> DeliveryEngine::RetryDeadLetters(int64_t task_id) {
  auto letters = ListDeadLetters(task_id, "open");
  if (!letters.ok()) return letters.error();
  RetryReport report;
  // Group by (task, subscriber): each group is one apply on the subscriber.
  std::map<std::pair<int64_t, int64_t>, std::vector<const DeadLetter*>> groups;
  for (const DeadLetter& l : *letters) groups[{l.task_id, l.subscriber_id}].push_back(&l);
  for (const auto& [key, group] : groups) {
    auto task = meta_.GetTask(key.first);
    if (!task.ok()) return task.error();
    // A disabled task (a revoked grant) delivers nothing, its dead letters
    // included (review16c): they stay open until it runs again.
    if (!task->Runnable(clock_.NowMillis())) {
      report.skipped += static_cast<int>(group.size());
      continue;
    }
    const Subscriber* sub = nullptr;
    for (const Subscriber& s : task->subscribers) {
      if (s.id == key.second) sub = &s;
    }
    if (sub == nullptr) {  // the subscriber was removed from the task
      report.skipped += static_cast<int>(group.size());
      continue;
    }
    auto provider = meta_.GetResource(task->provider_resource_id);
    if (!provider.ok()) return provider.error();
    auto target = meta_.GetResource(sub->resource_id);
    if (!target.ok()) return target.error();
    std::vector<Record> mapped;
    std::vector<const DeadLetter*> sent;  // parallel to mapped
    for (const DeadLetter* l : group) {
      auto r = RecordFromJson(l->payload);
      // The task's filter as it is now (an order approved since the letter
      // was made may have narrowed it): a row it excludes is not delivered by
      // a retry either (review16e); its letter stays open.
      if (r.ok() && !PassesFilter(*provider, task->filter, *r)) {
        ++report.skipped;
        continue;
      }
      Record m;
      if (r.ok()) {
        m = *r;
        m.values.clear();
        for (const Field& f : target->fields) {
          std::string from = f.code;
          if (!sub->mapping.empty()) {
            from.clear();
            for (const auto& [p, s] : sub->mapping) {
              if (s == f.code) from = p;
            }
          }
          auto it = r->values.find(from);
          m.values[f.code] = it == r->values.end() ? std::nullopt : it->second;
        }
      }
      mapped.push_back(std::move(m));
      sent.push_back(l);
    }
    if (mapped.empty()) continue;
    auto dest = nodes_.Acquire(target->node_id);
    if (!dest.ok()) return dest.error();
    auto applied = Apply(**dest, *target, mapped);
    if (!applied.ok()) return applied.error();
    std::map<size_t, std::string> failed;
    for (const auto& f : applied->failures) failed[f.index] = f.reason;
    Status saved = meta_.store().WithTransaction([&](soci::session& sql) -> Status {
      long long now = clock_.NowMillis();
      for (size_t i = 0; i < sent.size(); ++i) {
        long long id = sent[i]->id;
        auto it = failed.find(i);
        if (it == failed.end()) {
          sql << "UPDATE exchange_dead_letters SET state = 'resolved', attempts = attempts + 1, "
                 "updated_ms = :n WHERE id = :i",
              soci::use(now), soci::use(id);
          ++report.resolved;
        } else {
          std::string reason = it->second.substr(0, 2000);
          sql << "UPDATE exchange_dead_letters SET reason = :r, attempts = attempts + 1, "
                 "updated_ms = :n WHERE id = :i",
              soci::use(reason), soci::use(now), soci::use(id);
          ++report.still_failing;
        }
      }
      return Status::Ok();
    });
    if (!saved.ok()) return saved.error();
  }
  return report;
}

Result<std::vector<Progress>> DeliveryEngine::ListProgress(int64_t task_id) {
  return meta_.store().WithSession([&](soci::session& sql) -> Result<std::vector<Progress>> {
    std::vector<Progress> out;
    long long t = task_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT * FROM exchange_progress WHERE :t = 0 OR task_id = :t2 "
                        "ORDER BY task_id, subscriber_id",
         soci::use(t), soci::use(t));
    for (const soci::row& r : rows) {
      Progress p;
      p.task_id = I64(r, "task_id");
      p.subscriber_id = I64(r, "subscriber_id");
      p.hwm = I64(r, "hwm");
      p.rows_applied = I64(r, "rows_applied");
      p.rows_dead = I64(r, "rows_dead");
      p.last_run_ms = I64(r, "last_run_ms");
      p.last_ok_ms = I64(r, "last_ok_ms");
      p.last_error = Text(r, "last_error");
      p.failures = I64(r, "failures");
      p.next_attempt_ms = I64(r, "next_attempt_ms");
      out.push_back(std::move(p));
    }
    return out;
  });
}

Result<ApplyReport> DeliveryEngine::Push(int64_t resource_id, const std::vector<Record>& records) {
  auto resource = meta_.GetResource(resource_id);
  if (!resource.ok()) return resource.error();
  auto node = nodes_.Acquire(resource->node_id);
  if (!node.ok()) return node.error();
  return Apply(**node, *resource, records);
}

Result<std::vector<Record>> DeliveryEngine::Pull(int64_t resource_id, int64_t cursor, int limit,
                                                 int64_t* next_cursor) {
  auto resource = meta_.GetResource(resource_id);
  if (!resource.ok()) return resource.error();
  auto node = nodes_.Acquire(resource->node_id);
  if (!node.ok()) return node.error();
  int read = 0;
  return ReadChanges(**node, *resource, cursor, limit, &read, next_cursor);
}

}  // namespace tongban::exchange
