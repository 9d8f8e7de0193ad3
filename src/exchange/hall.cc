// Hall data (DB51/T 1625 stage records) through the exchange: see hall.h.
#include "exchange/hall.h"

#include <nlohmann/json.hpp>
#include <set>

#include "exchange/ddl.h"
#include "exchange/sql_util.h"

namespace tongban::exchange {

namespace {

using nlohmann::json;
using sql_util::I64;
using sql_util::Text;

constexpr std::string_view kStageColumn = "stage";
constexpr std::string_view kOtherColumn = "other_fields";

constexpr const char* kHallV1 = R"sql(
CREATE TABLE exchange_hall_intake (
  resource_id BIGINT NOT NULL PRIMARY KEY,
  cursor_seq BIGINT NOT NULL,
  reported BIGINT NOT NULL,
  refused BIGINT NOT NULL,
  last_error {TEXT} NOT NULL,
  updated_ms BIGINT NOT NULL
){END};

CREATE TABLE exchange_hall_refused (
  id {ID},
  resource_id BIGINT NOT NULL,
  tongid {KEY} NOT NULL,
  dataversion BIGINT NOT NULL,
  payload {TEXT} NOT NULL,
  reason {TEXT} NOT NULL,
  created_ms BIGINT NOT NULL,
  UNIQUE (resource_id, tongid, dataversion)
){END};
)sql";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsStage(std::string_view stage) {
  for (std::string_view s : kHallStages) {
    if (s == stage) return true;
  }
  return false;
}

const std::set<std::string_view>& KnownNames() {
  static const std::set<std::string_view> names(HallFieldNames().begin(), HallFieldNames().end());
  return names;
}

}  // namespace

std::string_view HallRecord::Field(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return {};
}

const std::vector<std::string_view>& HallFieldNames() {
  // docs/approval-stage-records.md, stage by stage; names shared by stages appear once.
  static const std::vector<std::string_view> names = {
      // SPSHENQIN
      "SBLSH", "SBLSH_SHORT", "SXBM", "SXBM_SHORT", "SXMC", "SQRLX", "SQRMC", "SQRZJLX",
      "SQRZJHM", "LXRXM", "LXRSFZJHM", "LXRSJ", "SBCLQD", "TJFS", "SBSJ", "XZQHDM", "VERSION",
      // SPSHOULI
      "SLBMMC", "SLBMZZJGDM", "BLRXM", "BLRGH", "SLZTDM", "BSLYY", "BLYJ", "SLSJ",
      // SPSHENPI
      "SPHJDM", "SPHJMC", "SPBMMC", "SPBMZZJGDM", "SPRXM", "SPRDM", "SPYJ", "SPSJ", "NODERESULT",
      // SPBUZHENG
      "BZGZSJ", "BZGZYY", "BZCLQD", "BZSJ",
      // SPTEBIECHENGXU
      "TBCXKSRQ", "TBCXQDLY", "SQNR", "TBCXJSRQ", "TBCXJG",
      // SPBANJIE
      "BJBMMC", "BJBMZZJGDM", "BJJGDM", "BJJGMS", "ZFHTHYY", "BJSJ"};
  return names;
}

Resource HallResource(std::string code, int64_t node_id) {
  Resource r;
  r.code = std::move(code);
  r.name = "办件环节数据（DB51/T 1625）";
  r.model = TableModel::kHorizontal;
  r.node_id = node_id;
  r.fields.push_back({std::string(kStageColumn), "环节", FieldType::kString, 20, 0, true, false});
  for (std::string_view name : HallFieldNames()) {
    Field f{Lower(name), std::string(name), FieldType::kString, 0, 0, false, false};
    if (name == "SBLSH") {
      f.length = 64;
      f.required = true;
      f.key = true;
    }
    r.fields.push_back(std::move(f));
  }
  r.fields.push_back({std::string(kOtherColumn), "其他字段（JSON）", FieldType::kString, 0, 0,
                      false, false});
  return r;
}

Result<HallRecord> HallRecordFromJson(std::string_view text) {
  // ordered_json: the fields keep the order they came in (the order of the notes).
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("stage") || !j["stage"].is_string() ||
      !j.contains("fields") || !j["fields"].is_object()) {
    return Error::InvalidArgument("stage record: expected {\"stage\": \"...\", \"fields\": {...}}");
  }
  HallRecord r;
  r.stage = j["stage"].get<std::string>();
  for (auto it = j["fields"].begin(); it != j["fields"].end(); ++it) {
    const nlohmann::ordered_json& v = it.value();
    if (v.is_string()) {
      r.fields.emplace_back(it.key(), v.get<std::string>());
    } else if (v.is_number_integer()) {
      r.fields.emplace_back(it.key(), v.dump());
    } else if (v.is_null()) {
      r.fields.emplace_back(it.key(), "");
    } else {
      return Error::InvalidArgument("stage record: field " + it.key() + " is not text");
    }
  }
  return r;
}

std::string HallRecordJson(const HallRecord& record) {
  // Keeps the field order (nlohmann's object sorts keys; ordered_json does not).
  nlohmann::ordered_json j;
  j["stage"] = record.stage;
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& [k, v] : record.fields) fields[k] = v;
  j["fields"] = std::move(fields);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Record> HallRecordToRow(const HallRecord& record) {
  if (!IsStage(record.stage)) {
    return Error::InvalidArgument("stage record: unknown stage " + record.stage);
  }
  if (record.tongid.empty()) return Error::InvalidArgument("stage record: no tongid");
  Record row;
  row.tongid = record.tongid;
  row.dataversion = record.dataversion;
  row.values[std::string(kStageColumn)] = record.stage;
  nlohmann::ordered_json other = nlohmann::ordered_json::object();
  for (const auto& [name, value] : record.fields) {
    if (KnownNames().contains(name)) {
      row.values[Lower(name)] = value;
    } else {
      other[name] = value;
    }
  }
  if (!other.empty()) {
    row.values[std::string(kOtherColumn)] = other.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::string_view division = record.Field("XZQHDM");
  if (division.size() <= 12) row.areacode = std::string(division);
  return row;
}

Result<HallRecord> HallRecordFromRow(const Record& row) {
  HallRecord r;
  r.tongid = row.tongid;
  r.seq = row.seq;
  r.dataversion = row.dataversion;
  auto stage = row.values.find(std::string(kStageColumn));
  if (stage == row.values.end() || !stage->second || !IsStage(*stage->second)) {
    return Error::InvalidArgument("row " + row.tongid + ": column stage is not one of the six stages");
  }
  r.stage = *stage->second;
  for (std::string_view name : HallFieldNames()) {
    auto it = row.values.find(Lower(name));
    if (it != row.values.end() && it->second) r.fields.emplace_back(std::string(name), *it->second);
  }
  auto other = row.values.find(std::string(kOtherColumn));
  if (other != row.values.end() && other->second && !other->second->empty()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(*other->second, nullptr, false);
    if (!j.is_object()) {
      return Error::InvalidArgument("row " + row.tongid + ": column other_fields is not a JSON object");
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_string()) {
        return Error::InvalidArgument("row " + row.tongid + ": other_fields." + it.key() +
                                      " is not text");
      }
      r.fields.emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  return r;
}

// ---- HallPublisher ----

HallPublisher::HallPublisher(ExchangeMeta& meta, DeliveryEngine& engine, NodePool& nodes)
    : meta_(meta), engine_(engine), nodes_(nodes) {}

Result<Resource> HallPublisher::EnsureResource(std::string_view node_name, std::string_view code) {
  auto node = meta_.FindNodeByName(node_name);
  if (!node.ok()) return node.error();
  auto found = meta_.FindResource(node->id, code);
  if (found.ok()) return found;
  if (found.error().code != errc::kNotFound) return found.error();
  auto created = meta_.CreateResource(HallResource(std::string(code), node->id));
  if (!created.ok()) {
    if (created.error().code != errc::kAlreadyExists) return created.error();
    created = meta_.FindResource(node->id, code);  // another tongban node was first
    if (!created.ok()) return created.error();
  }
  auto store = nodes_.Get(node->id);
  if (!store.ok()) return store.error();
  Status table = CreateTable(**store, *created);
  if (!table.ok() && table.error().code != errc::kAlreadyExists) return table.error();
  return created;
}

Result<ApplyReport> HallPublisher::Publish(int64_t resource_id,
                                           const std::vector<HallRecord>& records) {
  std::vector<Record> rows;
  ApplyReport refused;
  std::vector<size_t> index;  // rows[i] came from records[index[i]]
  for (size_t i = 0; i < records.size(); ++i) {
    auto row = HallRecordToRow(records[i]);
    if (!row.ok()) {
      refused.failures.push_back({i, row.error().message});
      continue;
    }
    rows.push_back(std::move(row).value());
    index.push_back(i);
  }
  if (rows.empty()) return refused;
  auto applied = engine_.Push(resource_id, rows);
  if (!applied.ok()) return applied.error();
  for (auto& f : applied->failures) f.index = index[f.index];
  for (auto& f : refused.failures) applied->failures.push_back(std::move(f));
  return applied;
}

// ---- HallIntake ----

std::vector<Migration> HallMigrations() { return {PortableMigration("exchange_hall", 1, kHallV1)}; }

HallIntake::HallIntake(SqlStore& store, Clock& clock, DeliveryEngine& engine)
    : store_(store), clock_(clock), engine_(engine) {}

Result<HallIntake::State> HallIntake::GetState(int64_t resource_id) {
  return store_.WithSession([&](soci::session& sql) -> Result<State> {
    long long rid = resource_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT cursor_seq, reported, refused, last_error, updated_ms FROM "
                        "exchange_hall_intake WHERE resource_id = :r",
         soci::use(rid));
    State s;
    s.resource_id = resource_id;
    for (const soci::row& r : rows) {
      s.cursor = I64(r, "cursor_seq");
      s.reported = I64(r, "reported");
      s.refused = I64(r, "refused");
      s.last_error = Text(r, "last_error");
      s.updated_ms = I64(r, "updated_ms");
    }
    return s;
  });
}

Result<std::vector<HallIntake::State>> HallIntake::ListStates() {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<State>> {
    soci::rowset<soci::row> rows =
        sql.prepare << "SELECT resource_id, cursor_seq, reported, refused, last_error, "
                       "updated_ms FROM exchange_hall_intake ORDER BY resource_id";
    std::vector<State> out;
    for (const soci::row& r : rows) {
      out.push_back({I64(r, "resource_id"), I64(r, "cursor_seq"), I64(r, "reported"),
                     I64(r, "refused"), Text(r, "last_error"), I64(r, "updated_ms")});
    }
    return out;
  });
}

Status HallIntake::Save(int64_t resource_id, int64_t cursor, int reported_delta,
                        const Refused* refused, const std::string& last_error) {
  const int64_t now = clock_.NowMillis();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    long long rid = resource_id, cur = cursor, rep = reported_delta, now_ll = now;
    long long ref = 0;
    if (refused != nullptr) {
      long long dv = refused->dataversion;
      int exists = 0;
      sql << "SELECT COUNT(*) FROM exchange_hall_refused WHERE resource_id = :r AND tongid = :t "
             "AND dataversion = :v",
          soci::use(rid), soci::use(refused->tongid), soci::use(dv), soci::into(exists);
      if (exists == 0) {
        sql << "INSERT INTO exchange_hall_refused (resource_id, tongid, dataversion, payload, "
               "reason, created_ms) VALUES (:r, :t, :v, :p, :why, :now)",
            soci::use(rid), soci::use(refused->tongid), soci::use(dv), soci::use(refused->payload),
            soci::use(refused->reason), soci::use(now_ll);
        ref = 1;
      }
    }
    int have = 0;
    sql << "SELECT COUNT(*) FROM exchange_hall_intake WHERE resource_id = :r", soci::use(rid),
        soci::into(have);
    if (have == 0) {
      sql << "INSERT INTO exchange_hall_intake (resource_id, cursor_seq, reported, refused, "
             "last_error, updated_ms) VALUES (:r, :c, :rep, :ref, :e, :now)",
          soci::use(rid), soci::use(cur), soci::use(rep), soci::use(ref), soci::use(last_error),
          soci::use(now_ll);
    } else {
      sql << "UPDATE exchange_hall_intake SET cursor_seq = :c, reported = reported + :rep, "
             "refused = refused + :ref, last_error = :e, updated_ms = :now WHERE resource_id = :r",
          soci::use(cur), soci::use(rep), soci::use(ref), soci::use(last_error),
          soci::use(now_ll), soci::use(rid);
    }
    return Status::Ok();
  });
}

Result<HallIntake::Pass> HallIntake::RunOnce(int64_t resource_id, int limit, const Sink& sink) {
  auto state = GetState(resource_id);
  if (!state.ok()) return state.error();
  Pass pass;
  pass.cursor = state->cursor;
  int64_t next = state->cursor;
  auto rows = engine_.Pull(resource_id, state->cursor, limit, &next);
  if (!rows.ok()) {
    (void)Save(resource_id, state->cursor, 0, nullptr, rows.error().message);
    return rows.error();
  }
  pass.read = static_cast<int>(rows->size());
  pass.more = pass.read >= limit;
  for (const Record& row : *rows) {
    if (row.sync_status == 'D') {
      ++pass.skipped;
      TB_RETURN_IF_ERROR(Save(resource_id, row.seq, 0, nullptr, ""));
      pass.cursor = row.seq;
      continue;
    }
    auto record = HallRecordFromRow(row);
    Status outcome = record.ok() ? sink(*record) : Status(record.error());
    if (!outcome.ok() && outcome.error().code == errc::kUnavailable) {
      (void)Save(resource_id, pass.cursor, 0, nullptr, outcome.error().message);
      return outcome.error();
    }
    if (outcome.ok()) {
      TB_RETURN_IF_ERROR(Save(resource_id, row.seq, 1, nullptr, ""));
      ++pass.reported;
    } else {
      Refused refused;
      refused.tongid = row.tongid;
      refused.dataversion = row.dataversion;
      refused.payload = record.ok() ? HallRecordJson(*record) : RecordToJson(row);
      refused.reason = outcome.error().message;
      TB_RETURN_IF_ERROR(Save(resource_id, row.seq, 0, &refused, ""));
      ++pass.refused;
    }
    pass.cursor = row.seq;
  }
  return pass;
}

Result<std::vector<HallIntake::Refused>> HallIntake::ListRefused(int64_t resource_id) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Refused>> {
    long long rid = resource_id;
    soci::rowset<soci::row> rows =
        (sql.prepare << "SELECT id, resource_id, tongid, dataversion, payload, reason, created_ms "
                        "FROM exchange_hall_refused WHERE resource_id = :r ORDER BY id",
         soci::use(rid));
    std::vector<Refused> out;
    for (const soci::row& r : rows) {
      out.push_back({I64(r, "id"), I64(r, "resource_id"), Text(r, "tongid"),
                     I64(r, "dataversion"), Text(r, "payload"), Text(r, "reason"),
                     I64(r, "created_ms")});
    }
    return out;
  });
}

}  // namespace tongban::exchange
