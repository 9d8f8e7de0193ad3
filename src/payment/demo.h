// The payment demo: on a fresh installation, the payment app with its roles in
// the SSO directory, a demo user holding every payment role in the demo org,
// one collecting unit onboarded through the 联系单 workflow (so its opinions
// show), two charge items and one unpaid notice, so `make run` shows them.
// `serve` calls it after Directory::SeedDemo.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "directory/directory.h"
#include "payment/notices.h"
#include "payment/units.h"

namespace tongban::payment {

inline constexpr std::string_view kDemoOrg = "001";
inline constexpr std::string_view kDemoUser = "payclerk";
inline constexpr std::string_view kDemoEntercode = "000368";
inline constexpr std::string_view kDemoNoticeNo = "330001296DEMO0001";

struct DemoPayment {
  bool created = false;  // false when a unit existed already (nothing done)
  std::string user_loginname;
  std::string user_password;  // in clear, shown once; "" when the user existed
  std::string entercode;
  std::string notice_no;
};

// Does nothing when any unit exists. `demo_app`: an SSO app whose signed calls
// act for the demo unit on the direct interface ("" = none).
Result<DemoPayment> SeedPaymentDemo(directory::Directory& directory, UnitStore& units,
                                    NoticeStore& notices, Clock& clock, std::string_view demo_app,
                                    Random* random = nullptr);

}  // namespace tongban::payment
