// JSON forms of the payment records, inside src/payment/ only: the body
// columns of the stores (the parts never searched by SQL) and the console API.
#pragma once

#include <nlohmann/json.hpp>

#include "payment/model.h"

namespace tongban::payment::json_internal {

nlohmann::json ContactToJson(const Contact& c);
Contact ContactFromJson(const nlohmann::json& j);
// The whole unit (the stores keep state / app_code / notify_url in columns too).
nlohmann::json UnitToJson(const CollectingUnit& u);
// Tolerant: missing or mistyped members keep their defaults.
CollectingUnit UnitFromJson(const nlohmann::json& j);

nlohmann::json LateFeeToJson(const LateFeeRule& r);
LateFeeRule LateFeeFromJson(const nlohmann::json& j);
nlohmann::json LineToJson(const NoticeLine& l);
NoticeLine LineFromJson(const nlohmann::json& j);

// The notice's stored body: lines, extra fields, print info, payer's extra keys,
// cancel reason.
nlohmann::json NoticeBodyToJson(const PaymentNotice& n);
void NoticeBodyFromJson(const nlohmann::json& j, PaymentNotice& n);

// Console / payer views: every field, money both in fen and in yuan.
nlohmann::json NoticeToJson(const PaymentNotice& n);
nlohmann::json ItemToJson(const ChargeItem& i);
nlohmann::json PaymentToJson(const Payment& p);
nlohmann::json ApplicationToJson(const Application& a);

}  // namespace tongban::payment::json_internal
