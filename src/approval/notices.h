// The notices (文书) an applicant receives — 受理通知书, 不予受理通知书, 补正告知书, 办结通知书 —
// printed as A4 PDF with the case number, matter, applicant, dates, the org's name and a QR code
// of the public lookup page. Used by the notice routes of the approval API (api_notices.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::approval {

enum class NoticeKind {
  kAcceptance,  // 受理通知书
  kRefusal,     // 不予受理通知书
  kCorrection,  // 补正告知书
  kCompletion,  // 办结通知书
};
std::string_view NoticeKindName(NoticeKind kind);  // "acceptance", "refusal", ...
std::optional<NoticeKind> ParseNoticeKind(std::string_view name);
std::string_view NoticeTitle(NoticeKind kind);     // "受理通知书", ...

// What a notice prints. Times are epoch milliseconds, printed as dates in China Standard Time;
// 0 leaves the line out. Text is UTF-8.
struct NoticeData {
  std::string case_number;
  std::string matter_name;
  std::string applicant_name;
  std::string org_name;          // the implementing org: the heading and the signature
  int64_t registered_at_ms = 0;  // when the application was received (收件)
  int64_t accepted_at_ms = 0;
  int64_t deadline_ms = 0;       // promised deadline (承诺办结时限)
  int64_t completed_at_ms = 0;
  int64_t issued_at_ms = 0;      // the decision's time, printed under the signature
  std::string reason;            // refusal: why; correction: the clerk's note; completion: why
                                 // a negative result
  std::vector<std::string> missing_materials;  // correction: what to bring
  std::string result;            // completion: 准予许可, 不予许可, …
  std::string lookup_url;        // the QR code's content; "" prints no QR code
};

// Where the fixed parts sit on the first page, in points from the top-left corner of the A4
// page (595.276 x 841.89). The QR code's modules fill its square with a quiet zone of
// kQrQuietModules on each side; it is level M, byte mode, the smallest version that fits.
struct NoticeGeometry {
  static constexpr double kPageWidth = 595.276;
  static constexpr double kPageHeight = 841.89;
  static constexpr double kMargin = 72;  // left and right; body text never crosses it
  static constexpr double kQrLeft = kPageWidth - kMargin - 96;
  static constexpr double kQrTop = 36;
  static constexpr double kQrSize = 96;
  static constexpr int kQrQuietModules = 2;
  static constexpr double kTitleBaseline = 205;  // centred, 22 pt
  static constexpr double kTitleSize = 22;
};

// Prints notices. Chinese text uses the reader's SimSun/SimHei through libharu's built-in GB
// fonts (not embedded: every Chinese PDF reader has them); text is converted to GBK, and a
// character GBK cannot encode prints as '?'. Long lines wrap; a long list of materials
// continues on a second page. Stateless and safe to share between threads.
class NoticePrinter {
 public:
  // The PDF's bytes. Errors: kInvalidArgument (no case number; a lookup URL too long for a QR
  // code); kInternal when libharu or ICU fail (the error's number is in the message).
  Result<std::string> Print(NoticeKind kind, const NoticeData& data) const;
};

}  // namespace tongban::approval
