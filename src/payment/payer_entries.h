// Scheme 7 (缴款人自助录入): a payer enters a notice themselves at a unit that
// collects that way; the unit's clerk confirms it (the notice is created, source
// kPayer, and becomes payable) or refuses it with a reason. Module
// "payment_entries". The entry keeps the proposed notice as the console's JSON
// body, so confirming runs the same checks as console entry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::payment {

struct PayerEntry {
  int64_t id = 0;
  std::string entercode;
  std::string userid;   // the payer's SSO user
  std::string state;    // "proposed", "confirmed", "refused"
  std::string body;     // the proposed notice (console notice JSON)
  std::string notice_no;  // once confirmed
  std::string reason;     // once refused
  std::string decided_by;
  int64_t created_at_ms = 0;
  int64_t decided_at_ms = 0;
};

class PayerEntryStore {
 public:
  static std::vector<Migration> Migrations();  // module "payment_entries"
  PayerEntryStore(SqlStore& store, Clock& clock);

  // Conflict when the payer already has 3 proposals waiting at this unit, or
  // 10 in all (anyone who can log in may propose).
  Result<PayerEntry> Propose(std::string_view entercode, std::string_view userid,
                             std::string_view body);
  Result<PayerEntry> Get(int64_t id);
  // Newest first; "" = any. before_id > 0: only entries with a smaller id
  // (the next page after one whose last entry had that id).
  Result<std::vector<PayerEntry>> List(std::string_view entercode, std::string_view userid,
                                       std::string_view state, int limit, int64_t before_id = 0);
  // proposed → confirmed (with the notice made) or refused. Conflict unless proposed
  // (the row is updated only while still proposed: two clerks cannot both decide).
  Status Decide(int64_t id, bool confirm, std::string_view notice_no, std::string_view reason,
                std::string_view actor);
  // Decide inside the caller's transaction (the confirming notice's): the
  // entry closes with its notice or not at all.
  Status DecideIn(soci::session& sql, int64_t id, bool confirm, std::string_view notice_no,
                  std::string_view reason, std::string_view actor);

 private:
  SqlStore& store_;
  Clock& clock_;
};

}  // namespace tongban::payment
