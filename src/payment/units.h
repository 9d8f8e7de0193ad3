// Collecting units (执收单位), their onboarding applications (联系单) and the
// charge-item catalogue (收费项目): module "payment_units". The 联系单 is a
// workflow: draft → submit → 财政局 opinion → 电子政务办 opinion → (scheme 3)
// provincial review → approved, which makes the unit active; a refusal sends it
// back for amendment and resubmission. Every opinion of every round is kept.
// Used by the notice store (a notice needs an active unit), the API and the demo.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "payment/model.h"
#include "store/sql_store.h"

namespace tongban::payment {

// Checks a unit's own data (codes, division, contacts, scheme, areas).
// InvalidArgument naming the first field at fault, in Chinese.
Status ValidateUnit(const CollectingUnit& unit);
Status ValidateItem(const ChargeItem& item);

class UnitStore {
 public:
  static std::vector<Migration> Migrations();  // module "payment_units"
  UnitStore(SqlStore& store, Clock& clock);

  // ---- 联系单 ----
  // A new draft. AlreadyExists when the unit has another application open
  // (draft, refused or under review).
  Result<Application> CreateApplication(const CollectingUnit& proposal, std::string_view applicant);
  // Replaces the proposal of a draft or refused application (refused → draft).
  // The ENTERCODE cannot change. Conflict in any other state.
  Result<Application> AmendApplication(int64_t id, const CollectingUnit& proposal);
  // draft / refused → awaiting the 财政局; the round number goes up.
  Result<Application> Submit(int64_t id);
  // The opinion of `opinion.stage`, which must be the stage the application
  // waits on (Conflict otherwise). Approve moves on (the last approval makes the
  // unit active, created or updated from the proposal); refuse → refused.
  // opinion.date: YYYYMMDD; text 1..1000 characters.
  Result<Application> GiveOpinion(int64_t id, Opinion opinion);
  Result<Application> GetApplication(int64_t id);
  // Newest first; filters "" = any.
  Result<std::vector<Application>> ListApplications(std::string_view state,
                                                    std::string_view entercode);

  // ---- Units ----
  Result<CollectingUnit> GetUnit(std::string_view entercode);
  // The unit whose direct-interface caller is the SSO app `app_code`.
  Result<CollectingUnit> UnitByApp(std::string_view app_code);
  // Only its entercode (the same errors): what every signed direct call asks
  // first, one kept statement and no body to parse.
  Result<std::string> EntercodeOfApp(std::string_view app_code);
  Result<std::vector<CollectingUnit>> ListUnits();
  // Suspend / reactivate an approved unit (pending cannot be set here).
  Status SetUnitState(std::string_view entercode, UnitState state);
  // The operator's settings of an approved unit: its direct-interface app and
  // its result-notification URL.
  Status SetUnitLinks(std::string_view entercode, std::string_view app_code,
                      std::string_view notify_url);

  // ---- Charge items ----
  Status PutItem(const ChargeItem& item);  // insert or replace
  Result<ChargeItem> GetItem(std::string_view chitcode);
  Result<std::vector<ChargeItem>> ListItems();

 private:
  SqlStore& store_;
  Clock& clock_;
};

}  // namespace tongban::payment
