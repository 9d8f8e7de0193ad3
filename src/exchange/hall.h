// Hall data (DB51/T 1625, the 前置机 stage-table family of gov-domain-notes §1.4(a)): the
// stage records of cases (申请 SPSHENQIN, 受理 SPSHOULI, 承办/审核/批准 SPSHENPI, 补正
// SPBUZHENG, 特别程序 SPTEBIECHENGXU, 办结 SPBANJIE) as rows of one exchange resource on a
// front-end node. Out: HallPublisher writes records (from the approval outbox, adapted in
// src/app) into the resource, idempotently by tongid. In: HallIntake reads a department's
// new rows after a stored cursor and hands each to a sink (the approval engine, in src/app),
// keeping the rows the sink refuses with their reason. Knows nothing of approval/.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "exchange/delivery.h"
#include "exchange/meta.h"
#include "exchange/model.h"
#include "store/sql_store.h"

namespace tongban::exchange {

// The six stages, in lifecycle order.
inline constexpr std::string_view kHallStages[] = {"SPSHENQIN", "SPSHOULI",       "SPSHENPI",
                                                   "SPBUZHENG", "SPTEBIECHENGXU", "SPBANJIE"};
// The default code of the hall resource (its table name on the node).
inline constexpr std::string_view kHallResourceCode = "hall_stage_records";

// One stage record: its stage (table of the family) and fields by their DB51 names
// (upper case), in order. tongid/seq are set for records read from a node.
struct HallRecord {
  std::string stage;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string tongid;
  int64_t seq = 0;
  int64_t dataversion = 1;

  std::string_view Field(std::string_view name) const;  // "" when absent
};

// The DB51 field names the hall table has a column for (the union of the stages' fields,
// each once, in the order of the notes); a column's code is the name in lower case.
const std::vector<std::string_view>& HallFieldNames();

// The hall resource: horizontal, one row per stage record, columns `stage` (the XML node
// name), `sblsh` (the case number, required) and every other HallFieldNames() column as
// text, plus `other_fields` (a JSON object of fields outside the list, so none is dropped).
Resource HallResource(std::string code, int64_t node_id);

// {"stage": "...", "fields": {...}} (the approval outbox payload) and back. Values are
// strings; an integer is taken as its decimal text, null as "".
Result<HallRecord> HallRecordFromJson(std::string_view json);
std::string HallRecordJson(const HallRecord& record);

// As a row of the hall resource (tongid and version from the record) and back.
Result<Record> HallRecordToRow(const HallRecord& record);
Result<HallRecord> HallRecordFromRow(const Record& row);

// Out: stage records into a hall resource on a node.
class HallPublisher {
 public:
  HallPublisher(ExchangeMeta& meta, DeliveryEngine& engine, NodePool& nodes);

  // The hall resource `code` on the node named `node_name`: found, or created (definition
  // and table with its change capture). NotFound for an unknown node.
  Result<Resource> EnsureResource(std::string_view node_name, std::string_view code);
  // Writes the records (each needs a tongid; its dataversion guards replays). A record the
  // table refuses is a failure in the report, naming the column; a node that cannot be
  // reached is an error (Unavailable), and nothing was written.
  Result<ApplyReport> Publish(int64_t resource_id, const std::vector<HallRecord>& records);

 private:
  ExchangeMeta& meta_;
  DeliveryEngine& engine_;
  NodePool& nodes_;
};

// In: a department's stage rows, read in the order they were written (tong_seq) after a
// cursor kept per resource in tongban's database (exchange_hall_intake), and refused rows
// (exchange_hall_refused) with the sink's reason.
class HallIntake {
 public:
  // The sink takes one record. Ok: reported. Unavailable: stop, keep the cursor, retry
  // later. Any other error: the row is refused (kept with the message) and the intake
  // moves on.
  using Sink = std::function<Status(const HallRecord&)>;

  HallIntake(SqlStore& store, Clock& clock, DeliveryEngine& engine);

  struct Pass {
    int read = 0;
    int reported = 0;
    int refused = 0;
    int skipped = 0;  // D rows: a stage record cannot be taken back, counted not reported
    int64_t cursor = 0;
    bool more = false;  // a full batch was read
  };
  // One batch of at most `limit` rows of `resource_id`. The cursor moves after each row, so
  // a crash replays at most the row in hand (the sink must tolerate one repeat).
  Result<Pass> RunOnce(int64_t resource_id, int limit, const Sink& sink);

  struct State {
    int64_t resource_id = 0;
    int64_t cursor = 0;
    int64_t reported = 0;
    int64_t refused = 0;
    std::string last_error;
    int64_t updated_ms = 0;
  };
  Result<State> GetState(int64_t resource_id);
  Result<std::vector<State>> ListStates();  // every source read so far

  struct Refused {
    int64_t id = 0;
    int64_t resource_id = 0;
    std::string tongid;
    int64_t dataversion = 0;
    std::string payload;  // HallRecordJson
    std::string reason;
    int64_t created_ms = 0;
  };
  Result<std::vector<Refused>> ListRefused(int64_t resource_id);

 private:
  Status Save(int64_t resource_id, int64_t cursor, int reported_delta, const Refused* refused,
              const std::string& last_error);

  SqlStore& store_;
  Clock& clock_;
  DeliveryEngine& engine_;
};

// The hall intake's tables (module "exchange_hall"); part of ExchangeMeta::Migrations().
std::vector<Migration> HallMigrations();

}  // namespace tongban::exchange
