// Stage records (环节数据) of the hall data interface (DB51/T 1625, the 前置机
// stage-table family of gov-domain-notes §1.4(a)): SPSHENQIN (申请), SPSHOULI
// (受理), the approval steps (SPHJDM 1 承办 / 2 审核 / 3 批准), SPBUZHENG (补正),
// SPTEBIECHENGXU (特别程序) and SPBANJIE (办结). Out: built from a transition and
// put on the approval outbox for the exchange subsystem. In: parsed from what a
// department's own system reports (XML or JSON), for read-only cases. Pure.
#pragma once

#include <cstddef>
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

// The stage records a transition produces, in the order the exchange should
// publish them: usually one; two for the step agreement (or disagreement) that
// completes the case — its SPSHENPI then the case's SPBANJIE; none for a
// transition the interface has no stage for (转办, kRecompute). `orgname` is
// the acting org's name (the record's orgcoding is its code); XZQHDM is the
// case's division as 12 digits (a 6-digit code is padded with zeros).
// docs/approval-stage-records.md lists every field and where it comes from.
std::vector<StageRecord> StageRecordsFor(const Case& c, const Matter& matter,
                                         const StepRecord& record, std::string_view orgname);

// Convenience: the last record of StageRecordsFor (SPBANJIE for a completing
// step), or a record with an empty `stage` when there is none.
StageRecord StageRecordFor(const Case& c, const Matter& matter, const StepRecord& record,
                           std::string_view orgname);

// Renders as the APPROVEDATAINFO XML of the stage-table family, and as JSON
// {"stage": "...", "fields": {...}} (the outbox payload). The plural forms put
// several records under one APPROVEDATAINFO, or in a JSON array. Values that
// XML cannot carry (C0 controls, ill-formed UTF-8) are written as U+FFFD.
std::string StageRecordXml(const StageRecord& record);
std::string StageRecordJson(const StageRecord& record);
std::string StageRecordsXml(const std::vector<StageRecord>& records);
std::string StageRecordsJson(const std::vector<StageRecord>& records);

// What ParseStageRecords accepts at most.
inline constexpr std::size_t kStageBodyMaxBytes = 1 << 20;  // larger -> errc::kTooLarge
inline constexpr std::size_t kStageMaxRecords = 200;
inline constexpr std::size_t kStageMaxFields = 200;         // per record
inline constexpr std::size_t kStageFieldMaxChars = 4000;    // code points per value

// Parses a reported record (XML <APPROVEDATAINFO><SPSHOULI>…</SPSHOULI>… or the
// JSON form, one object or an array); InvalidArgument naming the record (1-based)
// and the missing or malformed field. Checks the fields each stage requires
// (SBLSH always; SLZTDM 1|2 and BSLYY when 2; SPHJDM; BJJGDM and a reason for
// negative results; dates as yyyy-MM-dd HH:mm:ss). DOCTYPEs, undeclared entities
// and elements inside a field are refused. Error messages never echo values.
Result<std::vector<StageRecord>> ParseStageRecords(std::string_view body);

}  // namespace tongban::approval
