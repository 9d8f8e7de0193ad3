// The tables of the case engine (module "approval_cases"). Written once for
// every dialect with sql_dialect's placeholders. The case row carries the
// pending step's role, org and deadlines, so a 待办 list is one index range
// and no join; the step records are the history (never updated).
#include "approval/engine.h"

namespace tongban::approval {
namespace {

constexpr const char* kCasesV1 = R"sql(
CREATE TABLE approval_cases (
  id {ID},
  number {KEY} NOT NULL,
  implement_code {KEY} NOT NULL,
  matter_version INTEGER NOT NULL,
  matter_name {TEXT} NOT NULL,
  orgcoding {KEY} NOT NULL,
  division {KEY} NOT NULL DEFAULT '',
  applicant_type {KEY} NOT NULL,
  applicant_name {TEXT} NOT NULL,
  applicant_id {KEY} NOT NULL,
  applicant_json {TEXT} NOT NULL,
  materials_json {TEXT} NOT NULL,
  channel {KEY} NOT NULL DEFAULT '0',
  state {KEY} NOT NULL,
  current_step INTEGER NOT NULL DEFAULT -1,
  pending_role {KEY} NOT NULL DEFAULT '',
  pending_org {KEY} NOT NULL DEFAULT '',
  pending_user {KEY} NOT NULL DEFAULT '',
  corrections INTEGER NOT NULL DEFAULT 0,
  registered_at BIGINT NOT NULL,
  registered_by {KEY} NOT NULL DEFAULT '',
  accepted_at BIGINT NOT NULL DEFAULT 0,
  completed_at BIGINT NOT NULL DEFAULT 0,
  deadline_at BIGINT NOT NULL DEFAULT 0,
  step_started_at BIGINT NOT NULL DEFAULT 0,
  step_deadline_at BIGINT NOT NULL DEFAULT 0,
  stopped_since BIGINT NOT NULL DEFAULT 0,
  stopped_days INTEGER NOT NULL DEFAULT 0,
  step_stopped_days INTEGER NOT NULL DEFAULT 0,
  result INTEGER NOT NULL DEFAULT -1,
  result_reason {TEXT} NOT NULL DEFAULT '',
  lookup_hash {KEY} NOT NULL DEFAULT '',
  reported INTEGER NOT NULL DEFAULT 0,
  revision BIGINT NOT NULL DEFAULT 0
){END};
CREATE UNIQUE INDEX approval_cases_by_number ON approval_cases (number);
CREATE INDEX approval_cases_todo ON approval_cases (pending_org, pending_role, deadline_at, id){WHERE pending_role <> ''};
CREATE INDEX approval_cases_by_org ON approval_cases (orgcoding, registered_at);
CREATE INDEX approval_cases_by_matter ON approval_cases (implement_code, registered_at);
CREATE INDEX approval_cases_by_applicant ON approval_cases (applicant_id);
CREATE INDEX approval_cases_running ON approval_cases (division, state){WHERE completed_at = 0};

CREATE TABLE approval_steps (
  id {ID},
  case_id BIGINT NOT NULL,
  action {KEY} NOT NULL,
  step_code {KEY} NOT NULL DEFAULT '',
  step_name {TEXT} NOT NULL DEFAULT '',
  userid {KEY} NOT NULL DEFAULT '',
  username {TEXT} NOT NULL DEFAULT '',
  orgcoding {KEY} NOT NULL DEFAULT '',
  opinion {TEXT} NOT NULL DEFAULT '',
  detail {TEXT} NOT NULL DEFAULT '',
  attachments {TEXT} NOT NULL DEFAULT '',
  from_state {KEY} NOT NULL DEFAULT '',
  to_state {KEY} NOT NULL DEFAULT '',
  at BIGINT NOT NULL
){END};
CREATE INDEX approval_steps_by_case ON approval_steps (case_id, id);
CREATE INDEX approval_steps_by_user ON approval_steps (userid, at);

CREATE TABLE approval_serials (
  implement_code {KEY} NOT NULL,
  day {KEY} NOT NULL,
  last_serial INTEGER NOT NULL,
  PRIMARY KEY (implement_code, day)
){END};
)sql";

// Version 2: the hall's 我的办件 and its downloads read an applicant's own
// online cases by registered_by.
constexpr const char* kCasesV2 = R"sql(
CREATE INDEX approval_cases_by_registrant ON approval_cases (registered_by, id);
)sql";

}  // namespace

// Version 3: which cases each stored file belongs to (materials and step
// attachments), so a clerk may open a file only through a case of an org of
// theirs — by index, not by scanning the materials of every case.
constexpr const char* kCasesV3 = R"sql(
CREATE TABLE approval_case_files (
  sha256 {KEY} NOT NULL,
  case_id BIGINT NOT NULL,
  PRIMARY KEY (sha256, case_id)
){END};
)sql";

// Version 4: who uploaded which file through the staff API, so a clerk can
// open a material they just uploaded before the case it belongs to is
// registered (the intake form links each upload). The uploader has the bytes
// already; nobody else gains a way in.
constexpr const char* kCasesV4 = R"sql(
CREATE TABLE approval_uploads (
  sha256 {KEY} NOT NULL,
  userid {KEY} NOT NULL,
  uploaded_at BIGINT NOT NULL,
  PRIMARY KEY (sha256, userid)
){END};
)sql";

// Version 5: each upload's size, and the uploads of a user by time: a caller
// stores at most a quota of bytes a day (review13: one account without any
// role stored 800 MiB in 9 s, and nothing bounded it).
constexpr const char* kCasesV5 = R"sql(
ALTER TABLE approval_uploads ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
CREATE INDEX approval_uploads_by_user ON approval_uploads (userid, uploaded_at);
)sql";

// Version 6: the Idempotency-Key of each keyed registration (review15d: a
// 收件登记 retried after its answer was lost registered the case twice). The
// key belongs to the caller; the fingerprint (SHA-256 of the request body)
// tells a retry from another request that reuses the key.
constexpr const char* kCasesV6 = R"sql(
CREATE TABLE approval_request_keys (
  userid {KEY} NOT NULL,
  request_key {KEY} NOT NULL,
  number {KEY} NOT NULL,
  fingerprint {KEY} NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (userid, request_key)
){END};
)sql";

std::vector<Migration> CaseEngine::Migrations() {
  return {PortableMigration("approval_cases", 1, kCasesV1),
          PortableMigration("approval_cases", 2, kCasesV2),
          PortableMigration("approval_cases", 3, kCasesV3),
          PortableMigration("approval_cases", 4, kCasesV4),
          PortableMigration("approval_cases", 5, kCasesV5),
          PortableMigration("approval_cases", 6, kCasesV6)};
}

}  // namespace tongban::approval
