// Stage records (环节数据) of the hall data interface (DB51/T 1625, the 前置机
// stage-table family of gov-domain-notes §1.4(a)): SPSHENQIN (申请), SPSHOULI
// (受理), the approval steps (SPHJDM 1 承办 / 2 审核 / 3 批准), SPBUZHENG (补正),
// SPTEBIECHENGXU (特别程序) and SPBANJIE (办结). Out: built from a transition and
// put on the approval outbox for the exchange subsystem. In: parsed from what a
// department's own system reports (XML or JSON), for read-only cases. Pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "approval/model.h"
#include "core/result.h"

namespace tongban::approval {

// One stage record: its table name and its fields in the order of the notes.
struct StageRecord {
  std::string stage;  // "SPSHENQIN", "SPSHOULI", "SPSHENPI", "SPBUZHENG", "SPTEBIECHENGXU", "SPBANJIE"
  std::vector<std::pair<std::string, std::string>> fields;  // e.g. {"SBLSH", "<case number>"}

  std::string_view Field(std::string_view name) const;  // "" when absent
};

// The stage record a transition produces; empty `stage` for a transition the
// interface has no stage for (转办, kRecompute). `orgname` is the acting org's
// name; `division` the 12-digit XZQHDM (a 6-digit code is padded with zeros).
StageRecord StageRecordFor(const Case& c, const Matter& matter, const StepRecord& record,
                           std::string_view orgname);

// Renders as the APPROVEDATAINFO XML of the stage-table family, and as JSON
// {"stage": "...", "fields": {...}} (the outbox payload).
std::string StageRecordXml(const StageRecord& record);
std::string StageRecordJson(const StageRecord& record);

// Parses a reported record (XML <APPROVEDATAINFO><SPSHOULI>…</SPSHOULI>… or the
// JSON form); InvalidArgument naming the missing or malformed field. Checks the
// fields each stage requires (SBLSH always; SLZTDM 1|2 and BSLYY when 2; SPHJDM;
// BJJGDM and a reason for negative results; dates as yyyy-MM-dd HH:mm:ss).
Result<std::vector<StageRecord>> ParseStageRecords(std::string_view body);

}  // namespace tongban::approval
