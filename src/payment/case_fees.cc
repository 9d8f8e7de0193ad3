#include "payment/case_fees.h"

#include <cstdio>

#include "crypto/digest.h"
#include "crypto/encoding.h"

namespace tongban::payment {

std::string CaseOriginalNoticeNo(std::string_view number_key, std::string_view case_number,
                                 int sequence) {
  char seq[8];
  std::snprintf(seq, sizeof seq, "%02d", sequence);
  return "AP" + crypto::HexEncode(crypto::HmacSha256(number_key, case_number)).substr(0, 20) + seq;
}

Result<PaymentNotice> RaiseCaseNotice(NoticeStore& notices, const CaseFee& fee) {
  if (fee.case_number.empty() || fee.case_number.size() > 64) {
    return Error::InvalidArgument("办件编号不能为空（最多 64 个字符）");
  }
  if (fee.sequence < 1 || fee.sequence > 99) return Error::InvalidArgument("序号应为 1 到 99");
  if (fee.number_key.empty()) return Error::Internal("payment: no key for case notice numbers");
  PaymentNotice n;
  n.entercode = fee.entercode;
  n.original_notice_no = CaseOriginalNoticeNo(fee.number_key, fee.case_number, fee.sequence);
  n.ywcode = fee.case_number;
  n.payer = fee.payer;
  n.true_name = !fee.payer.id_number.empty();
  n.lines = fee.lines;
  n.expires_at_ms = fee.expires_at_ms;
  n.count_overdue = fee.count_overdue;
  n.extra[0] = {"办件编号", fee.case_number};
  n.extra[1] = {"事项", fee.matter_name};
  const std::string original = n.original_notice_no;
  auto created = notices.Create(std::move(n), NoticeSource::kApproval);
  if (created.ok() || created.error().code != errc::kAlreadyExists) return created;
  // Raised before (a retry, another node): kAlreadyExists, as callers expect —
  // but only when the notice holding the number is this case's.
  auto mine = CaseNotices(notices, fee.case_number);
  if (!mine.ok()) return std::move(mine).error();
  for (const PaymentNotice& existing : *mine) {
    if (existing.entercode == fee.entercode && existing.original_notice_no == original) {
      return created;
    }
  }
  return Error::Conflict("办件 " + fee.case_number + " 的缴款单号已被另一张缴款单占用");
}

Result<std::vector<PaymentNotice>> CaseNotices(NoticeStore& notices, std::string_view case_number) {
  NoticeQuery q;
  q.ywcode = std::string(case_number);
  q.limit = 100;
  auto found = notices.Search(q);
  if (!found.ok()) return found;
  std::erase_if(*found, [](const PaymentNotice& n) { return n.source != NoticeSource::kApproval; });
  return found;
}

}  // namespace tongban::payment
